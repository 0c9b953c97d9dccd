"""Unit tests of the GPU attempt's reason, read from ONNX Runtime's printed fallback notice.

Oracle: the two notices ONNX Runtime 1.31 prints (``onnxruntime_inference_collection.py``:
``EP Error {e} when using {providers}`` after a banner line, and ``EP Error: {err} using
{providers}``), built here from those formats with a known error text.
"""

from __future__ import annotations

import pytest

from corridor.inference.session import _fallback_reason

ERROR = ("[ONNXRuntimeError] : 1 : FAIL : TensorRT EP failed to create engine from network. "
         "Please install TensorRT libraries as mentioned in the GPU requirements page")
PROVIDERS = "['TensorrtExecutionProvider', 'CPUExecutionProvider']"


@pytest.mark.parametrize("printed", [
    "*************** EP Error ***************\n"
    f"EP Error {ERROR} when using {PROVIDERS}\n"
    "Falling back to ['CPUExecutionProvider'] and retrying.\n"
    "****************************************\n",
    f"EP Error: {ERROR} using {PROVIDERS}\n"
    "Falling back to ['CPUExecutionProvider'] and retrying.\n",
])
def test_reason_is_the_error_text(printed: str) -> None:
    """Either notice gives back the error, without the banner or the provider list."""
    assert _fallback_reason(printed) == ERROR


def test_no_notice_no_reason() -> None:
    """Nothing printed (or other output) gives no reason, and the default text is used."""
    assert _fallback_reason("") == ""
    assert _fallback_reason("some other line\n") == ""
