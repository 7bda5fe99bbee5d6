"""export layer (see docs/ARCHITECTURE.md and docs/exports.md).

One module per format: masks (semantic PNG/TIFF, instance TIFF), overlay, measurements (CSV), rois (ImageJ),
geojson (QuPath), coco, model_export (TorchScript/ONNX) + card; api.export_folder drives them for folders.
"""
