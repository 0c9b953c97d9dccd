"""Every installed decoder plugin decodes each lossless syntax to exactly the original values,
and each lossy syntax to the same values as every other plugin.

pydicom warns that it cannot vouch for its plugins' output; the uncompressed series
written from the same phantom is the oracle, and each plugin is checked on its own.  A
lossy syntax has no such oracle: the plugins (different libraries: CharLS and libjpeg for
JPEG-LS, OpenJPEG through pylibjpeg, GDCM and Pillow for JPEG 2000) must agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import get_decoder
from pydicom.pixels.utils import pixel_array

from corridor_phantoms import make_phantom, write_series

SYNTAXES = ["rle", "jpeg2000-lossless", "jpegls-lossless", "jpeg-lossless", "jpeg-lossless-sv1"]
LOSSY = ["jpegls-near-lossless", "jpeg2000"]


@pytest.fixture(scope="module")
def phantom_series(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    phantom = make_phantom("pelvis", shape=(40, 36, 4), spacing=(4.0, 4.0, 8.0), seed=11)
    written = {}
    for syntax in ["explicit-little-endian", *SYNTAXES, *LOSSY]:
        out = tmp_path_factory.mktemp(syntax)
        written[syntax] = list(write_series(phantom, out / "p", transfer_syntax=syntax)
                               .slice_paths)
    return written


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_each_installed_plugin_decodes_exactly(phantom_series: dict[str, list[Path]],
                                               syntax: str) -> None:
    originals = [pydicom.dcmread(p).pixel_array for p in phantom_series["explicit-little-endian"]]
    first = pydicom.dcmread(phantom_series[syntax][0])
    plugins = sorted(get_decoder(first.file_meta.TransferSyntaxUID).available_plugins)
    assert plugins, f"no decoder installed for {syntax}"
    for plugin in plugins:
        for path, original in zip(phantom_series[syntax], originals, strict=True):
            decoded = pixel_array(pydicom.dcmread(path), decoding_plugin=plugin)
            assert np.array_equal(decoded, original), (syntax, plugin, path)


@pytest.mark.parametrize("syntax", LOSSY)
def test_every_installed_plugin_decodes_a_lossy_syntax_alike(
        phantom_series: dict[str, list[Path]], syntax: str) -> None:
    first = pydicom.dcmread(phantom_series[syntax][0])
    plugins = sorted(get_decoder(first.file_meta.TransferSyntaxUID).available_plugins)
    assert len(plugins) >= 2, f"fewer than two decoders installed for {syntax}: {plugins}"
    originals = [pydicom.dcmread(p).pixel_array for p in phantom_series["explicit-little-endian"]]
    for path, original in zip(phantom_series[syntax], originals, strict=True):
        decoded = {plugin: pixel_array(pydicom.dcmread(path), decoding_plugin=plugin)
                   for plugin in plugins}
        reference = decoded[plugins[0]]
        assert not np.array_equal(reference, original), "the lossy phantom lost nothing"
        for plugin in plugins[1:]:
            assert np.array_equal(decoded[plugin], reference), (syntax, plugin, path)


def test_gdcm_is_one_of_the_plugins_checked(phantom_series: dict[str, list[Path]]) -> None:
    first = pydicom.dcmread(phantom_series["jpeg2000-lossless"][0])
    assert "gdcm" in get_decoder(first.file_meta.TransferSyntaxUID).available_plugins
