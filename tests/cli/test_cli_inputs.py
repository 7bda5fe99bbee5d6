"""Inputs a folder listing passes over, or that hold nothing, get a line and a non-zero exit (issue 20,
item 6). The README's "bad input never stops a batch" is test_symlink_loops_and_empty_prediction_folders_say_so
(the loop gets its line, the other images are still predicted)."""

import pytest

from tests.cli.helpers import assert_one_line_error, run_cli, write_pairs, write_tiny_model


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_symlink_loops_and_empty_prediction_folders_say_so(tmp_path, command):
    """A symlink loop among the images was passed over without a line; evaluate on an empty folder printed
    null metrics and exited 0."""
    images, masks = write_pairs(tmp_path)
    if command == "predict":
        (images / "loop.png").symlink_to(images / "loop.png")
        out = tmp_path / "preds"
        result = run_cli("predict", "--model", write_tiny_model(tmp_path / "m.pt"), "--images", images, "--out", out)
        assert_one_line_error(result, "loop.png", "symbolic link loop")
        assert len(list(out.glob("*.png"))) == 4
    else:
        (tmp_path / "empty").mkdir()
        result = run_cli("evaluate", "--pred", tmp_path / "empty", "--truth", masks)
        assert_one_line_error(result, "empty", "nothing to score")
