"""Files are read strictly and within budgets (issue 18, items 1, 3 and 9).

Each test builds the hostile or broken file it needs, in a few bytes or kilobytes:
HDF5 datasets stored outside their file, sparse and compressed files that claim
gigabytes, truncated stacks and streams, frames, colour and out-of-range floats. The
refusals must come from the header where a header can tell (the reads are made to fail
if they happen), and always as our ValueError naming the file.
"""

import os
import struct
import subprocess
import sys
import textwrap
import zlib

import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

from dmtloss import fast
from dmtloss.cli import main
from dmtloss.data import loaders
from dmtloss.data.loaders import load_cremi, load_folder, load_isbi2012

RNG = np.random.default_rng(18)


@pytest.fixture
def no_hdf5_reads(monkeypatch):
    def read(self, *args, **kwargs):
        raise AssertionError(f"{self.name} was read")
    monkeypatch.setattr(h5py.Dataset, "__getitem__", read)
    monkeypatch.setattr(h5py.Dataset, "read_direct", read)


@pytest.fixture
def no_pixel_reads(monkeypatch):
    def read(self):
        raise AssertionError(f"pixels of {self.path} were read")
    monkeypatch.setattr(loaders.ImageFile, "read", read)


def _ids(shape=(1, 3, 4)):
    return np.arange(np.prod(shape), dtype=np.uint64).reshape(shape) // 2


# -- item 1: HDF5 storage outside the file -----------------------------------------------

def test_cremi_external_raw_pointing_at_a_host_file_is_refused(tmp_path, no_hdf5_reads):
    secret = tmp_path / "host-secret.bin"
    secret.write_bytes(bytes(range(12)))
    file = tmp_path / "sample.hdf"
    with h5py.File(file, "w") as f:
        f.create_dataset("volumes/raw", shape=(1, 3, 4), dtype=np.uint8, external=[(str(secret), 0, 12)])
        f.create_dataset("volumes/labels/neuron_ids", data=_ids())
    with pytest.raises(ValueError, match=r"CREMI file .*sample.hdf: /volumes/raw keeps its data outside the file "
                                         r"\(external storage in .*host-secret.bin\); refusing to follow it"):
        load_cremi(file)
    with pytest.raises(ValueError, match="external storage"):
        load_cremi(tmp_path)  # the folder form too


def test_cremi_virtual_dataset_is_refused(tmp_path, no_hdf5_reads):
    with h5py.File(tmp_path / "source.h5", "w") as f:
        f.create_dataset("ids", data=_ids())
    layout = h5py.VirtualLayout(shape=(1, 3, 4), dtype=np.uint64)
    layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "ids", shape=(1, 3, 4))
    file = tmp_path / "sample.hdf"
    with h5py.File(file, "w") as f:
        f.create_dataset("volumes/raw", data=np.zeros((1, 3, 4), np.uint8))
        f.create_virtual_dataset("volumes/labels/neuron_ids", layout)
    with pytest.raises(ValueError, match=r"sample.hdf: /volumes/labels/neuron_ids keeps its data in other files "
                                         r"\(a virtual dataset\)"):
        load_cremi(file)


def test_cremi_external_fifo_is_refused_without_opening_it(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    # a child, so that a regression (reading the pipe) cannot hang the suite: it would
    # block on the pipe, and the timeout below ends it
    script = textwrap.dedent(f"""
        import os, h5py, numpy as np
        from dmtloss.data import load_cremi
        os.mkfifo({str(tmp_path / 'pipe')!r})
        with h5py.File({str(tmp_path / 'a.hdf')!r}, "w") as f:
            f.create_dataset("volumes/raw", shape=(1, 3, 4), dtype=np.uint8,
                             external=[({str(tmp_path / 'pipe')!r}, 0, h5py.h5f.UNLIMITED)])
            f.create_dataset("volumes/labels/neuron_ids", data=np.ones((1, 3, 4), np.uint64))
        try:
            load_cremi({str(tmp_path / 'a.hdf')!r})
        except ValueError as err:
            print(err)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "/volumes/raw keeps its data outside the file" in done.stdout


# -- item 3: bytes, not values; bombs ------------------------------------------------------

def test_sparse_cremi_asking_for_gigabytes_is_refused_from_the_header(tmp_path, no_hdf5_reads):
    file = tmp_path / "sparse.hdf"
    with h5py.File(file, "w") as f:  # chunked, no chunk written: a few KB that read as 8 GiB of zeros
        f.create_dataset("volumes/raw", shape=(1024, 1024, 1024), dtype=np.uint8, chunks=(1, 64, 64))
        f.create_dataset("volumes/labels/neuron_ids", shape=(1024, 1024, 1024), dtype=np.uint64, chunks=(1, 64, 64))
    assert file.stat().st_size < 10_000
    with pytest.raises(ValueError, match=r"sparse.hdf has raw \(1024, 1024, 1024\) and neuron ids .* reading it "
                                         r"would take \d+ bytes, more than MAX_BYTES = 4294967296"):
        load_cremi(file)
    with h5py.File(file, "w") as f:  # within MAX_BYTES, but 10^5 times the file's size
        f.create_dataset("volumes/raw", shape=(256, 512, 512), dtype=np.uint8, chunks=(1, 64, 64))
        f.create_dataset("volumes/labels/neuron_ids", shape=(256, 512, 512), dtype=np.uint8, chunks=(1, 64, 64))
    with pytest.raises(ValueError, match=r"sparse.hdf .*more than MAX_EXPANSION = 1024 times its size \(a "
                                         r"decompression bomb, or a sparse file\)"):
        load_cremi(file)


def _zero_tiff(path, shape):
    tifffile.imwrite(path, np.zeros(shape, np.uint8), compression="zlib", photometric="minisblack",
                     rowsperstrip=shape[-2])


def test_compressed_tiff_bomb_is_refused_from_the_header(tmp_path, no_pixel_reads):
    _zero_tiff(tmp_path / "train-volume.tif", (4, 2048, 2048))  # 16 MB of zeros in about 17 KB
    _zero_tiff(tmp_path / "train-labels.tif", (4, 2048, 2048))
    size = (tmp_path / "train-volume.tif").stat().st_size
    assert size < 40_000
    with pytest.raises(ValueError, match=rf"train-volume.tif has shape \(4, 2048, 2048\) .* from {size} bytes on "
                                         r"disk, more than MAX_EXPANSION"):
        load_isbi2012(tmp_path)


def test_png_bomb_is_refused_from_the_header(tmp_path, no_pixel_reads, capsys):
    Image.fromarray(np.zeros((4096, 4096), np.uint8)).save(tmp_path / "a.png")  # 16 MB in 16 KB
    Image.fromarray(np.zeros((4096, 4096), np.uint8)).save(tmp_path / "a_m.png")
    assert (tmp_path / "a.png").stat().st_size < 40_000
    with pytest.raises(ValueError, match=r"a.png has shape \(4096, 4096\) .*decompression bomb"):
        load_folder(tmp_path, tmp_path, mask_suffix="_m")
    assert main(["structures", str(tmp_path / "a.png"), "-o", str(tmp_path)]) == 2  # 128 MB of float64
    assert "decompression bomb" in capsys.readouterr().err


def test_legitimate_files_within_budgets_are_read(tmp_path):
    # an empty mask compresses as well as a bomb: below BOMB_FLOOR it is read
    Image.fromarray(RNG.integers(0, 256, (1024, 1024), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((1024, 1024), bool)).save(tmp_path / "a_m.png")
    data = load_folder(tmp_path, tmp_path, mask_suffix="_m")
    assert data[0][0].shape == (1024, 1024) and not data[0][1].any()


def test_explain_checks_the_side_before_reading_the_image(tmp_path, no_pixel_reads, capsys):
    Image.fromarray(np.zeros((8, 2000), np.uint8)).save(tmp_path / "wide.png")
    assert main(["explain", str(tmp_path / "wide.png"), "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err
    assert "argument IMAGE: sides of at most 1024 px with --engine fast" in err and "(8, 2000)" in err
    np.save(tmp_path / "vol.npy", np.zeros((2000, 3, 3)))
    assert main(["explain", str(tmp_path / "vol.npy"), "-o", str(tmp_path / "f.png")]) == 2
    assert "the figure needs a 2-D map" in capsys.readouterr().err


def test_structures_refuses_more_than_the_engines_pixels_from_the_header(tmp_path, no_pixel_reads, capsys):
    np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.uint8, shape=(9000, 9000))  # sparse file
    assert main(["structures", str(tmp_path / "big.npy"), "-o", str(tmp_path)]) == 2
    assert "more than the engines' MAX_PIXELS = 79536431" in capsys.readouterr().err


# -- item 9: one strict reader --------------------------------------------------------------

def _pages(path, array):
    with tifffile.TiffWriter(path) as writer:
        for page in array:
            writer.write(page, photometric="minisblack", metadata=None)


def _one_line(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def stack_cut(tmp_path):
    """A plain 4-page tif cut where its third page starts: the chain of pages breaks there."""
    _pages(tmp_path / "cut.tif", RNG.random((4, 6, 8)).astype(np.float32))
    with tifffile.TiffFile(tmp_path / "cut.tif") as tif:
        cut = tif.pages[2].offset  # page 2 points at an IFD beyond the end
    data = (tmp_path / "cut.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:cut])
    return tmp_path / "cut.tif"


def test_cli_refuses_a_truncated_multipage_tiff(stack_cut, capsys):
    err = _one_line(["structures", str(stack_cut), "-o", str(stack_cut.parent)], capsys)
    assert "argument IMAGE" in err and "cut.tif" in err and "expected a complete, valid file" in err


def test_cli_refuses_a_multiframe_gif(tmp_path, capsys):
    frames = [Image.fromarray(RNG.integers(0, 256, (6, 8), dtype=np.uint8)) for _ in range(2)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    err = _one_line(["structures", str(tmp_path / "a.gif"), "-o", str(tmp_path)], capsys)
    assert "a.gif holds 2 frames; expected one image" in err


def test_cli_refuses_colour_and_takes_grey_saved_as_colour(tmp_path, capsys):
    colour = RNG.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "rgb.png")
    err = _one_line(["structures", str(tmp_path / "rgb.png"), "-o", str(tmp_path)], capsys)
    assert "rgb.png is a colour image; expected one channel (grey): convert it first" in err
    grey = colour[..., 0]
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "grey.png")
    assert main(["structures", str(tmp_path / "grey.png"), "-o", str(tmp_path)]) == 0
    written = np.array(Image.open(tmp_path / "grey.png-mask.png")) > 0
    assert np.array_equal(written, fast.morse_structures(grey / 255.0).mask())


@pytest.mark.parametrize("values", [np.full((6, 8), 200.0), np.linspace(-3, 3, 48).reshape(6, 8)])
def test_cli_refuses_floats_outside_0_1(tmp_path, values, capsys):
    tifffile.imwrite(tmp_path / "m.tif", values.astype(np.float32))
    err = _one_line(["structures", str(tmp_path / "m.tif"), "-o", str(tmp_path)], capsys)
    assert "expected likelihoods in [0, 1] (divide 0-255 values by 255" in err


def _png(width, height, rows):
    """A greyscale 8-bit PNG whose IDAT holds a complete zlib stream of `rows` (filter byte + pixels)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("allow", [False, True])
def test_png_whose_stream_stops_early_is_refused(tmp_path, monkeypatch, allow, capsys):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", allow)  # whatever the caller set
    image = RNG.integers(1, 256, (16, 12), dtype=np.uint8)
    (tmp_path / "a.png").write_bytes(_png(12, 16, image[:9]))  # 9 of 16 rows: Pillow fills the rest with 0
    (tmp_path / "whole").mkdir()
    (tmp_path / "whole" / "whole.png").write_bytes(_png(12, 16, image))
    Image.fromarray(np.zeros((16, 12), np.uint8)).save(tmp_path / "a_m.png")
    with pytest.raises(ValueError, match=r"cannot read image .*a.png: OSError: .*its compressed pixel stream ends "
                                         r"after 117 of the 208 bytes its header promises"):
        load_folder(tmp_path, tmp_path, mask_suffix="_m")
    err = _one_line(["structures", str(tmp_path / "a.png"), "-o", str(tmp_path)], capsys)
    assert "a.png" in err and "ends after 117 of the 208 bytes" in err
    assert main(["structures", str(tmp_path / "whole" / "whole.png"), "-o", str(tmp_path)]) == 0  # whole
    assert ImageFile.LOAD_TRUNCATED_IMAGES is allow


def test_png_checks_interlaced_and_every_bit_depth(tmp_path):
    # the stream check must accept every valid PNG Pillow writes
    cases = [np.zeros((5, 7), bool), RNG.integers(0, 256, (9, 13), dtype=np.uint8),
             RNG.integers(0, 65536, (6, 5), dtype=np.uint16), RNG.integers(0, 256, (7, 3, 3), dtype=np.uint8)]
    for i, array in enumerate(cases):
        for interlace in (False, True):
            path = tmp_path / f"{i}{interlace}.png"
            Image.fromarray(array).save(path, interlace=interlace)
            assert loaders._png_stream_problem(path) is None, (array.dtype, array.shape, interlace)
    palette = Image.new("P", (11, 4))
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.save(tmp_path / "p.png", bits=1)
    assert loaders._png_stream_problem(tmp_path / "p.png") is None
    data = (tmp_path / "p.png").read_bytes()
    (tmp_path / "p.png").write_bytes(data[:-12])  # no IEND
    assert loaders._png_stream_problem(tmp_path / "p.png") == "the file ends before its IEND chunk"


def test_tiff_of_several_series_and_sparse_tiffs_are_refused(tmp_path):
    with tifffile.TiffWriter(tmp_path / "two.tif") as writer:
        writer.write(np.zeros((4, 5), np.uint8))
        writer.write(np.zeros((6, 7), np.uint8))
    with pytest.raises(ValueError, match=r"two.tif holds 2 series"):
        with loaders.ImageFile(tmp_path / "two.tif", "image"):
            pass
    tifffile.imwrite(tmp_path / "two-samples.tif", np.zeros((4, 5, 2), np.uint8), planarconfig="contig",
                     photometric="minisblack", extrasamples=[0])
    with pytest.raises(ValueError, match=r"2 samples per pixel; expected 1"):
        with loaders.ImageFile(tmp_path / "two-samples.tif", "image"):
            pass
