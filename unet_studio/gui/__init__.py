"""The only package that imports Qt (PySide6). Nothing outside it imports it."""
