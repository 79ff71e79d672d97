"""Loaders of the field's on-disk data sets; nothing is ever downloaded.

Each ``load_xxx(path, ...)`` reads files the user already has and returns a
:class:`~dmtloss.data.SegmentationSet`:

===================  ==========================================================  ==========
loader               what it reads                                               regions
===================  ==========================================================  ==========
:func:`load_isbi2012`  ISBI 2012 EM stacks: train-volume.tif, train-labels.tif   background
:func:`load_isbi2013`  SNEMI3D: train-input.tif and neuron ids, train-labels.tif  background
:func:`load_cremi`     CREMI hdf5: /volumes/raw, /volumes/labels/neuron_ids       background
:func:`load_em_vnc`    raw/NN.tif and membranes/NN.png (this project's EM data)   background
:func:`load_drive`     DRIVE retina: tif images, palette gif manual annotations   foreground
:func:`load_cracktree` CrackTree-style image/ and gt/ folders                     foreground
:func:`load_roads`     Massachusetts roads: <split>/*.tiff, <split>_labels/*.tif  foreground
:func:`load_folder`    any folder of images and one of masks, matched by stem    either
:func:`load_topomortar` TopoMortar: <split>/images/*.png (RGB), <split>/labels/   background
===================  ==========================================================  ==========

Conversions, the same in every loader:

- Intensities to float32 in [0, 1]: bool as 0 and 1, uint8 divided by 255, uint16 by
  65535. Floating-point images must already hold finite values in [0, 1] and are taken
  as they are: rescaling each image by its own range would change the contrast from one
  image to the next, so it is refused, not guessed. Other dtypes (signed or 32-bit
  integers) are refused.
- Colour to grey: the ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (Pillow's "L"),
  alpha dropped, palette images through their palette; DRIVE takes the green channel,
  as is usual for fundus photographs.
- Masks to bool: bool masks as they are; integer masks holding only 0 and 1 as they
  are (1 is foreground); others converted like images and compared with a threshold
  (0.5 unless said otherwise: 255 is foreground in an 8-bit mask).
- Neuron ids to membranes (ISBI 2013, CREMI): per section, the pixels with a
  4-neighbour of a different id, both sides of each contact (scikit-image's
  ``find_boundaries(ids, connectivity=1, mode="thick")`` on each section, and CREMI's
  border mask before its dilation), computed exactly on the integers (find_boundaries
  goes through floats, which merge ids near 2^64). In-plane only: the sections are
  anisotropic, and a neuron's id may change between sections.

Safety: every file goes through one strict reader, :class:`ImageFile` (the ``dmtloss``
command line reads its maps through it too). Each file's header is read first
(tifffile's series shape and dtype, Pillow's size and mode, h5py's dataset shape and
dtype), and a file is refused before any pixel is decoded if it promises more than
:data:`MAX_VOXELS` values, if reading it would take more than :data:`MAX_BYTES` bytes
(its decoded values plus the arrays made from them), if that is more than
:data:`MAX_EXPANSION` times its size on disk and more than :data:`BOMB_FLOOR` bytes (a
decompression bomb, or a sparse file whose missing chunks would read as zeros), or if
it has an unsupported dtype or a shape that does not fit its partner. HDF5 datasets
kept outside their file (external storage, virtual datasets) are refused, unread: they
could read any file on the host, or block forever on a pipe. A missing folder or file
raises FileNotFoundError; unmatched names, mismatched shapes and any failure to decode
(a corrupt or truncated file) raise ValueError, naming the file and what was expected.
Nothing is read partially: tifffile's parse warnings (a broken chain of pages, which
would otherwise give a shorter stack) are errors, TIFFs of several series and sparse
TIFFs are refused, a PNG whose compressed stream stops early (which Pillow would fill
with zeros) is refused, and Pillow's ``LOAD_TRUNCATED_IMAGES`` is switched off while a
file is decoded (a process-wide setting: loading is not thread-safe with code that
changes it). Multi-frame GIFs and animated PNGs are refused.

TIFF files are read with tifffile: uncompressed, deflate and PackBits files need nothing
more, LZW, JPEG and other codecs need the ``imagecodecs`` package (without it, a clear
ValueError says so). Other formats are read with Pillow.

Complexity: O(n) time and memory in the n pixels read.

References
----------
.. [1] I. Arganda-Carreras et al. Crowdsourcing the creation of image segmentation
       algorithms for connectomics. Frontiers in Neuroanatomy 9, 2015 (ISBI 2012).
.. [2] SNEMI3D, ISBI 2013: https://snemi3d.grand-challenge.org/
.. [3] CREMI, MICCAI 2016: https://cremi.org/
.. [4] J. Staal et al. Ridge-based vessel segmentation in color images of the retina.
       IEEE TMI 23(4), 2004 (DRIVE).
.. [5] Q. Zou et al. CrackTree: automatic crack detection from pavement images.
       Pattern Recognition Letters 33(3), 2012.
.. [6] V. Mnih. Machine learning for aerial image labeling. PhD thesis, University of
       Toronto, 2013 (Massachusetts roads).
"""

import contextlib
import logging
import math
import numbers
import os
from pathlib import Path

import numpy as np

from dmtloss.reference._validation import as_bool, as_choice

from ._types import SegmentationSet

__all__ = ["load_isbi2012", "load_isbi2013", "load_cremi", "load_em_vnc", "load_drive", "load_cracktree",
           "load_roads", "load_folder", "load_topomortar", "ImageFile", "MAX_VOXELS", "MAX_BYTES",
           "MAX_EXPANSION", "BOMB_FLOOR"]

#: Files whose header promises more values than this (channels included) are refused.
MAX_VOXELS = 2 ** 30
#: Reading one file may take at most this many bytes (4 GiB): its decoded values (their
#: dtype's size, channels included) plus the arrays made from them (float32 images, bool
#: masks, the float64 maps of the command line). Checked from the header, before
#: anything is decoded. The largest file of the data sets above, a CREMI volume (uint64
#: neuron ids), takes 2.7 GB.
MAX_BYTES = 2 ** 32
#: A file whose reading would take more than this many times its own size on disk (and
#: more than :data:`BOMB_FLOOR` bytes) is refused as a decompression bomb, or a sparse
#: file (whose missing chunks read as zeros). The field's images take far less: an EM
#: section about 5 times its size, a mask of thin membranes 20-100 times.
MAX_EXPANSION = 1024
#: Reads of at most this many bytes (64 MiB) are never refused as bombs: an empty
#: 4096 x 4096 mask is legitimate, however well it compresses.
BOMB_FLOOR = 2 ** 26

#: File name suffixes read as images, by :func:`load_folder` and the other folder loaders.
_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif")
_LUMA = np.array([0.299, 0.587, 0.114])
_SCALE = {np.dtype(np.bool_): 1, np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_CREMI_BACKGROUND = 0xFFFFFFFFFFFFFFFD
_EM_VNC_SPLITS = {"train": range(0, 10), "validation": range(10, 14)}
# Pillow mode -> (dtype of the pixels, colour?, mode to convert to before reading them)
_PIL_MODES = {"1": ("bool", False, None), "L": ("uint8", False, None), "LA": ("uint8", False, "L"),
              "P": ("uint8", True, "RGB"), "PA": ("uint8", True, "RGB"), "RGB": ("uint8", True, None),
              "RGBA": ("uint8", True, "RGB"), "RGBX": ("uint8", True, "RGB"), "CMYK": ("uint8", True, "RGB"),
              "YCbCr": ("uint8", True, "RGB"), "I;16": ("uint16", False, None), "I;16L": ("uint16", False, None),
              "I;16B": ("uint16", False, None), "I;16N": ("uint16", False, None), "I": ("int32", False, None),
              "F": ("float32", False, None)}


# -- paths -----------------------------------------------------------------------------

def _as_path(path, name="path"):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike); got {type(path).__name__}")
    return Path(path)


def _folder(path, what):
    if not path.is_dir():
        raise FileNotFoundError(f"{what} folder {path} not found")
    return path


def _file(path, what):
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found")
    return path


def _by_stem(folder, what, suffixes=_SUFFIXES):
    """The files of `folder` with one of `suffixes` (any case), by stem."""
    files = {}
    for item in sorted(_folder(folder, what).iterdir()):
        if item.is_file() and item.suffix.lower() in suffixes and not item.name.startswith("."):
            if item.stem in files:
                raise ValueError(f"{what} folder {folder} holds two files with the stem {item.stem!r}: "
                                 f"{files[item.stem].name} and {item.name}; expected one per name")
            files[item.stem] = item
    if not files:
        raise FileNotFoundError(f"no {what} file ({', '.join(suffixes)}) in {folder}")
    return files


def _matched(images, masks, image_folder, mask_folder, mask_suffix=""):
    """``(stem, image, mask)`` for each image, its mask's stem being its own + mask_suffix."""
    lonely = sorted(s for s in images if s + mask_suffix not in masks)
    extra = sorted(set(masks) - {s + mask_suffix for s in images})
    if lonely or extra:
        raise ValueError(f"images in {image_folder} and masks in {mask_folder} must match by name "
                         f"(mask stem = image stem + {mask_suffix!r}); images without a mask: "
                         f"{lonely[:5]}{' ...' if len(lonely) > 5 else ''}; masks without an image: "
                         f"{extra[:5]}{' ...' if len(extra) > 5 else ''}")
    return [(stem, images[stem], masks[stem + mask_suffix]) for stem in sorted(images)]


# -- one file --------------------------------------------------------------------------

@contextlib.contextmanager
def _decoding(path, what):
    """Turn any failure of a decoding library into a ValueError that names the file."""
    try:
        yield
    except (MemoryError, _Refusal):
        raise
    except Exception as err:
        raise ValueError(f"cannot read {what} {path}: {type(err).__name__}: {err}; "
                         f"expected a complete, valid file") from err


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _strict_pillow():
    from PIL import ImageFile

    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _png_stream_problem(path):
    """What is wrong with a PNG's compressed pixel stream, or None if it is whole.

    Pillow fills the rows of a zlib stream that ends early with zeros and says
    nothing; this walks the chunks and counts the decompressed bytes (in pieces: no
    copy of the image) against what the header promises, filter bytes included.
    """
    import zlib

    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return "no PNG signature"
        header, stream, expected, total, ended = None, None, 0, 0, False
        while True:
            head = f.read(8)
            if len(head) < 8:
                return "the file ends before its IEND chunk"
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == b"IDAT" and header is not None:
                if stream is None:
                    stream = zlib.decompressobj()
                left = length
                while left:
                    piece = f.read(min(left, 2 ** 20))
                    if not piece:
                        return "the file ends inside an IDAT chunk"
                    left -= len(piece)
                    while piece and not stream.eof:
                        total += len(stream.decompress(piece, 2 ** 20))
                        piece = stream.unconsumed_tail
                        if total > expected:
                            return f"its pixel stream holds more than the {expected} bytes its header promises"
                if len(f.read(4)) < 4:
                    return "the file ends inside an IDAT chunk"
                continue
            body = f.read(length)
            if len(body) < length or len(f.read(4)) < 4:
                return f"the file ends inside a {kind.decode('latin-1')} chunk"
            if kind == b"IHDR":
                width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
                depth, colour, interlace = body[8], body[9], body[12]
                bits = depth * _PNG_CHANNELS.get(colour, 1)
                passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
                for x0, y0, dx, dy in passes:
                    w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
                    if w > 0 and h > 0:
                        expected += h * (1 + -(-(w * bits) // 8))
                header = body
            elif kind == b"IEND":
                ended = True
                break
    if stream is None:
        return "it has no pixel data (IDAT)"
    if not stream.eof:
        return f"its compressed pixel stream stops early (after {total} of {expected} bytes)"
    if total != expected:
        return f"its compressed pixel stream ends after {total} of the {expected} bytes its header promises"
    return None if ended else "the file ends before its IEND chunk"


class ImageFile:
    """One image file, opened for its header; :meth:`read` decodes its pixels, strictly.

    Every loader of this module, and the ``dmtloss`` command line, read files through
    this class. Opening reads the header only: tifffile's series shape and dtype (TIFF),
    Pillow's size and mode (PNG, GIF, JPEG, BMP, ...) or numpy's header (``.npy``,
    never unpickled). :meth:`check` then refuses, from the header alone, a wrong
    dimension or shape, an unsupported dtype, more than :data:`MAX_VOXELS` values or
    :data:`MAX_BYTES` bytes once decoded, and a decompression bomb: a file that would
    decode to more than :data:`MAX_EXPANSION` times its own size (and more than
    :data:`BOMB_FLOOR` bytes). Decoding is strict: tifffile's parse warnings (a
    truncated stack) are errors; multi-frame GIFs and animated PNGs, TIFFs of several
    series, sparse TIFFs (missing strips or tiles, read as zeros elsewhere) and PNGs
    whose compressed stream stops early (Pillow would fill the rest with zeros) are
    refused; Pillow's ``LOAD_TRUNCATED_IMAGES`` is off while a file is decoded.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    what : str
        What the file is, for messages (``"image"``, ``"mask"``, ...).

    Attributes
    ----------
    shape : tuple of int
        Spatial shape, without the colour axis.
    dtype : numpy.dtype
        The pixels' dtype once decoded.
    colour : bool
        Whether pixels have 3 channels (colour; alpha is dropped when reading).
    channels : int
        3 for colour (4 for TIFF RGBA before the alpha is dropped), else 1.
    nbytes : int
        Bytes of the decoded array, from the header.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If its header cannot be read, or it holds several frames or series.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); file = pathlib.Path(tmp.name) / "a.png"
    >>> Image.fromarray(np.full((2, 3), 7, np.uint8)).save(file)
    >>> with ImageFile(file, "image") as image:
    ...     image.shape, str(image.dtype), image.check((2,), "image").read().tolist()
    ((2, 3), 'uint8', [[7, 7, 7], [7, 7, 7]])
    >>> tmp.cleanup()
    """

    def __init__(self, path, what):
        self.path, self.what = _file(Path(path), what), what
        self._stack = contextlib.ExitStack()
        try:
            suffix = self.path.suffix.lower()
            if suffix in (".tif", ".tiff"):
                self._open_tiff()
            elif suffix == ".npy":
                self._open_npy()
            else:
                self._open_pillow()
            self.nbytes = math.prod(self.shape) * self.channels * self.dtype.itemsize
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def _open_tiff(self):
        import tifffile

        self._log = _Collect()
        logger = logging.getLogger("tifffile")
        logger.addHandler(self._log)
        self._stack.callback(logger.removeHandler, self._log)
        if logger.getEffectiveLevel() > logging.WARNING:  # hear its warnings whatever the caller set
            self._stack.callback(logger.setLevel, logger.level)
            logger.setLevel(logging.WARNING)
        with _decoding(self.path, self.what):
            self._tiff = self._stack.enter_context(tifffile.TiffFile(self.path))
            all_series = self._tiff.series
            self._check_log()
            if len(all_series) != 1:
                raise _Refusal(f"{self.what} {self.path} holds {len(all_series)} series (images of different "
                               f"shapes or kinds); expected one image or one stack")
            series = all_series[0]
            shape, axes, self.dtype = series.shape, series.axes, series.dtype
            pages = list(series.pages)
        self._series = series
        self._check_log()
        if any(p is None for p in pages) or any(not all(getattr(p, "databytecounts", (1,))) for p in pages):
            raise ValueError(f"{self.what} {self.path} has missing pages, strips or tiles (a sparse or damaged "
                             f"file, which would read as zeros); expected a complete, valid file")
        if "S" in axes and shape[axes.index("S")] not in (3, 4):
            raise ValueError(f"{self.what} {self.path} has {shape[axes.index('S')]} samples per pixel; expected 1 "
                             f"(grey), 3 (RGB) or 4 (RGBA)")
        self.colour = "S" in axes
        self._sample_axis = axes.index("S") if self.colour else None
        self.shape = tuple(n for i, n in enumerate(shape) if i != self._sample_axis)
        self.channels = shape[self._sample_axis] if self.colour else 1

    def _check_log(self):
        if self._log.messages:
            raise _Refusal(f"cannot read {self.what} {self.path}: tifffile reports "
                             f"{'; '.join(self._log.messages[:3])}; expected a complete, valid file")

    def _open_npy(self):
        with _decoding(self.path, self.what):
            self._npy = np.load(self.path, mmap_mode="r", allow_pickle=False)
        self._stack.callback(setattr, self, "_npy", None)  # closes the map
        if not isinstance(self._npy, np.ndarray):
            raise ValueError(f"{self.what} {self.path} holds no array; expected one .npy array")
        self.shape, self.dtype, self.colour, self.channels = self._npy.shape, self._npy.dtype, False, 1

    def _open_pillow(self):
        from PIL import Image

        with _decoding(self.path, self.what):
            self._image = self._stack.enter_context(Image.open(self.path))
            frames = getattr(self._image, "n_frames", 1)
            mode, (width, height) = self._image.mode, self._image.size
        if frames != 1:
            raise ValueError(f"{self.what} {self.path} holds {frames} frames; expected one image")
        if mode not in _PIL_MODES:
            raise ValueError(f"{self.what} {self.path} has the unsupported Pillow mode {mode!r}; "
                             f"expected one of {sorted(_PIL_MODES)}")
        dtype, self.colour, self._convert = _PIL_MODES[mode]
        self.dtype, self.shape, self.channels = np.dtype(dtype), (height, width), 3 if self.colour else 1

    def check(self, ndim, kind, shape=None, partner=None, max_values=None, limit_name=None):
        """Refuse a wrong dimension, size, dtype or shape, and a decompression bomb, from the header alone.

        `kind` is ``"image"``, ``"mask"``, ``"labels"`` or ``"map"`` (a likelihood map:
        bool, unsigned integers or floats); `max_values` is :data:`MAX_VOXELS` unless
        given (`limit_name` names it in the message). Returns the file itself.
        """
        if len(self.shape) not in ndim:
            raise ValueError(f"{self.what} {self.path} must be {' or '.join(f'{n}-D' for n in ndim)}; "
                             f"got shape {self.shape}{' (colour)' if self.colour else ''}; expected "
                             f"{' or '.join(_NDIM_WORDS[n] for n in ndim)}")
        values = math.prod(self.shape) * self.channels
        max_values = MAX_VOXELS if max_values is None else max_values
        if values > max_values:
            name = limit_name or "MAX_VOXELS"
            raise ValueError(f"{self.what} {self.path} has shape {self.shape} x {self.channels} channel(s), "
                             f"more than {name} = {max_values} values; refusing to read it")
        _check_bytes(self.nbytes + math.prod(self.shape) * _MADE[kind], self.path, self.what,
                     f"shape {self.shape} x {self.channels} channel(s) of {self.dtype}")
        if shape is not None and self.shape != tuple(shape):
            raise ValueError(f"{self.what} {self.path} has shape {self.shape}; expected {tuple(shape)}, "
                             f"the shape of {partner}")
        allowed = {"image": "buf", "mask": "buif", "labels": "iu", "map": "buf"}[kind]
        if self.dtype.kind not in allowed or (kind == "image" and self.dtype.kind == "u"
                                              and self.dtype not in _SCALE):
            raise ValueError(f"{self.what} {self.path} has dtype {self.dtype}; expected {_EXPECTED[kind]}")
        return self

    def read(self):
        """The pixels, colour (when there is colour) on the last axis, alpha dropped."""
        if hasattr(self, "_series"):
            with _decoding(self.path, self.what):
                array = self._series.asarray()
            self._check_log()
            if self.colour:
                array = np.moveaxis(array, self._sample_axis, -1)[..., :3]
            return array
        if hasattr(self, "_npy"):
            with _decoding(self.path, self.what):
                return np.array(self._npy)
        image = self._image
        with _strict_pillow(), _decoding(self.path, self.what):
            image.load()
            if image.format == "PNG":
                problem = _png_stream_problem(self.path)
                if problem:
                    raise OSError(f"image file is truncated or corrupt: {problem}")
            if self._convert:
                image = image.convert(self._convert)
            array = np.array(image)
        if array.dtype.byteorder not in "=|":
            array = array.astype(array.dtype.newbyteorder("="))
        return array

    def read_grey(self):
        """The pixels of one channel: a colour file only if all its channels are equal.

        A grey image saved as RGB or with a grey palette reads as it is; a true colour
        image is refused rather than converted (there is more than one way to make it
        grey: luma, the green channel, ...).
        """
        array = self.read()
        if self.colour:
            if not (np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])):
                raise ValueError(f"{self.what} {self.path} is a colour image; expected one channel (grey): "
                                 f"convert it first, e.g. with Pillow's Image.convert('L') (luma) or by "
                                 f"taking the channel you mean")
            array = np.ascontiguousarray(array[..., 0])
        return array


_ImageFile = ImageFile  # the name the loaders' tests know
_NDIM_WORDS = {2: "a 2-D image", 3: "a 3-D stack"}


class _Refusal(ValueError):
    """A refusal of ours raised inside :func:`_decoding` (passed on as it is)."""


#: Bytes per pixel of the arrays made from a file's values, by kind: float32 images,
#: bool masks and boundaries, float64 likelihood maps (the command line's).
_MADE = {"image": 4, "mask": 1, "labels": 1, "map": 8}


def _check_bytes(cost, path, what, description):
    """Refuse a read that would cost more than MAX_BYTES, and decompression bombs.

    `cost` is the bytes of the decoded values plus those of the arrays made from them.
    """
    if cost > MAX_BYTES:
        raise _Refusal(f"{what} {path} has {description}: reading it would take {cost} bytes, more than "
                         f"MAX_BYTES = {MAX_BYTES}; refusing to read it")
    size = os.stat(path).st_size
    if cost > BOMB_FLOOR and cost > MAX_EXPANSION * size:
        raise _Refusal(f"{what} {path} has {description}: reading it would take {cost} bytes from {size} "
                         f"bytes on disk, more than MAX_EXPANSION = {MAX_EXPANSION} times its size (a "
                         f"decompression bomb, or a sparse file); refusing to read it")


_EXPECTED = {"image": "bool, uint8, uint16 or floats in [0, 1]",
             "mask": "bool, unsigned integers or floats in [0, 1]",
             "labels": "integer ids",
             "map": "bool, unsigned integers (scaled by their maximum) or floats in [0, 1]"}


def _unit(array, colour, path, what, channel="luma"):
    """float32 intensities in [0, 1] (see the module docstring)."""
    if array.dtype.kind == "f":
        if array.size and not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise ValueError(f"{what} {path} holds floats outside [0, 1] (or not finite); expected floating "
                             f"images in [0, 1]: they are not rescaled")
        scale = 1
    elif array.dtype in _SCALE:
        scale = _SCALE[array.dtype]
    else:
        raise ValueError(f"{what} {path} has dtype {array.dtype}; expected {_EXPECTED['image']}")
    if colour and channel == "luma":
        return np.clip((array[..., :3] @ _LUMA) / scale, 0.0, 1.0).astype(np.float32)
    if colour:
        array = array[..., 1]
    # one correctly rounded float32 division: the nearest float32 to value / scale
    return (array.astype(np.float32) / np.float32(scale)).astype(np.float32, copy=False)


def _binary(array, colour, path, what, threshold):
    """bool mask (see the module docstring)."""
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iu" and not colour and array.size and array.min() >= 0 and array.max() <= 1:
        return array == 1
    if array.dtype.kind in "iu" and array.dtype not in _SCALE:
        raise ValueError(f"mask {path} has dtype {array.dtype} and values other than 0 and 1; expected a "
                         f"binary mask (bool, 0/1, uint8 or uint16)")
    return _unit(array, colour, path, what) > threshold


def _read_pair(image_path, mask_path, *, ndim=(2,), channel="luma", threshold=0.5, what=("image", "mask")):
    """(float32 image, bool mask) of one pair of files, both headers checked first."""
    with _ImageFile(image_path, what[0]) as image, _ImageFile(mask_path, what[1]) as mask:
        image.check(ndim, "image")
        mask.check(ndim, "mask", image.shape, f"{what[0]} {image_path}")
        pixels = _unit(image.read(), image.colour, image_path, what[0], channel)
        return pixels, _binary(mask.read(), mask.colour, mask_path, what[1], threshold)


def _read_mask(path, what, shape, partner, threshold):
    """The bool mask of one file that must have the given shape."""
    with _ImageFile(path, what) as mask:
        mask.check((len(shape),), "mask", shape, partner)
        return _binary(mask.read(), mask.colour, path, what, threshold)


def _id_boundaries(ids, background=None):
    """Per section (axis 0): pixels with a 4-neighbour of another id, and background pixels."""
    edges = np.zeros(ids.shape, dtype=bool)
    for axis in (1, 2):
        before = [slice(None)] * 3
        after = [slice(None)] * 3
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        differ = ids[tuple(before)] != ids[tuple(after)]
        edges[tuple(before)] |= differ
        edges[tuple(after)] |= differ
    if background is not None:
        edges |= ids == background
    return edges


def _sections(kind, stem, images, targets, volume, regions, source):
    """One set of 2-D sections named ``stem/zNN``, or of whole volumes if `volume`."""
    if volume:
        return SegmentationSet(images, targets, stem, regions, source)
    names, sections, masks = [], [], []
    for name, image, target in zip(stem, images, targets):
        width = max(2, len(str(len(image) - 1)))
        names += [f"{name}/z{z:0{width}d}" for z in range(len(image))]
        sections += list(image)
        masks += list(target)
    return SegmentationSet(sections, masks, names, regions, source)


def _check_threshold(threshold):
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"`threshold` must be a real number; got {type(threshold).__name__}")
    if not 0 <= threshold < 1:
        raise ValueError(f"`threshold` must be in [0, 1); got {threshold!r}")
    return float(threshold)


# -- EM stacks -------------------------------------------------------------------------

def _stack_pair(folder, image_name, label_name, kind):
    """A 3-D image stack and its 3-D labels, headers checked before reading."""
    with _ImageFile(folder / image_name, "image stack") as image, \
            _ImageFile(folder / label_name, "label stack") as labels:
        image.check((3,), "image")
        labels.check((3,), kind, image.shape, f"image stack {folder / image_name}")
        pixels = _unit(image.read(), image.colour, image.path, "image stack")
        if kind == "mask":
            return pixels, _binary(labels.read(), labels.colour, labels.path, "label stack", 0.5)
        return pixels, labels.read()


def load_isbi2012(path, *, volume=False):
    """The ISBI 2012 EM segmentation challenge's training stack.

    On disk, in the folder `path`: ``train-volume.tif``, a uint8 stack ``(Z, Y, X)`` of
    serial sections (30 x 512 x 512 in the challenge), and ``train-labels.tif``, of the
    same shape: 255 on cell interiors, 0 on membranes.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    volume : bool, optional
        False (default): one 2-D image per section, named ``"train-volume/z00"``, ...;
        True: the whole stack as one 3-D image named ``"train-volume"``.

    Returns
    -------
    data : SegmentationSet
        Targets True on membranes (label below half its range, i.e. 0);
        ``regions="background"``.

    Raises
    ------
    FileNotFoundError
        If the folder or a file is missing.
    ValueError
        If a file is corrupt or truncated, not a 3-D stack, too large, of an unsupported
        dtype, or if the shapes differ.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> tmp = tempfile.TemporaryDirectory(); folder = pathlib.Path(tmp.name)
    >>> labels = np.full((2, 6, 8), 255, np.uint8); labels[:, 3, :] = 0
    >>> tifffile.imwrite(folder / "train-volume.tif", 255 - labels, photometric="minisblack")
    >>> tifffile.imwrite(folder / "train-labels.tif", labels, photometric="minisblack")
    >>> data = load_isbi2012(folder)
    >>> data.names, int(data[0][1].sum()), float(data[0][0].max())
    (('train-volume/z00', 'train-volume/z01'), 8, 1.0)
    >>> tmp.cleanup()
    """
    folder = _folder(_as_path(path), "ISBI 2012")
    volume = as_bool(volume, "volume")
    pixels, interior = _stack_pair(folder, "train-volume.tif", "train-labels.tif", "mask")
    return _sections("isbi2012", ["train-volume"], [pixels], [~interior], volume, "background",
                     f"ISBI 2012 ({folder}): train-volume.tif, membranes = train-labels.tif == 0")


def load_isbi2013(path, *, volume=False):
    """The SNEMI3D (ISBI 2013) training stack, with membranes from the neuron ids.

    On disk, in the folder `path`: ``train-input.tif``, a uint8 stack ``(Z, Y, X)``
    (100 x 1024 x 1024 in the challenge), and ``train-labels.tif``, integer neuron ids of
    the same shape. The target is, per section, the pixels with a 4-neighbour of another
    id (``find_boundaries(mode="thick", connectivity=1)``, two pixels wide at each
    contact; see the module docstring). Every id, 0 included, is a neuron.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    volume : bool, optional
        False (default): one 2-D image per section, named ``"train-input/z000"``, ...;
        True: one 3-D image (in-plane boundaries, stacked) named ``"train-input"``.

    Returns
    -------
    data : SegmentationSet
        ``regions="background"``.

    Raises
    ------
    FileNotFoundError, ValueError
        As for :func:`load_isbi2012`; the labels must be integers.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> tmp = tempfile.TemporaryDirectory(); folder = pathlib.Path(tmp.name)
    >>> ids = np.zeros((1, 4, 6), np.uint32); ids[:, :, 3:] = 7
    >>> tifffile.imwrite(folder / "train-input.tif", np.zeros((1, 4, 6), np.uint8), photometric="minisblack")
    >>> tifffile.imwrite(folder / "train-labels.tif", ids, photometric="minisblack")
    >>> load_isbi2013(folder)[0][1].astype(int)
    array([[0, 0, 1, 1, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 1, 1, 0, 0],
           [0, 0, 1, 1, 0, 0]])
    >>> tmp.cleanup()
    """
    folder = _folder(_as_path(path), "ISBI 2013 (SNEMI3D)")
    volume = as_bool(volume, "volume")
    pixels, ids = _stack_pair(folder, "train-input.tif", "train-labels.tif", "labels")
    return _sections("isbi2013", ["train-input"], [pixels], [_id_boundaries(ids)], volume, "background",
                     f"ISBI 2013 SNEMI3D ({folder}): train-input.tif, membranes = boundaries of the "
                     f"train-labels.tif ids per section")


def _cremi_file(file):
    import h5py

    with _decoding(file, "CREMI file"):  # h5py's errors on a damaged file, named; ours passed on
        with h5py.File(file, "r") as handle:
            pixels, labels = _cremi_arrays(file, handle, h5py)
    background = None
    if labels.dtype.itemsize == 8:
        background = np.array(_CREMI_BACKGROUND, dtype=np.uint64).astype(labels.dtype)
    return _unit(pixels, False, file, "CREMI raw"), _id_boundaries(labels, background)


def _cremi_arrays(file, handle, h5py):
    """Raw (cropped to the ids) and the ids, every check made before either is read."""
    datasets = []
    for key in ("volumes/raw", "volumes/labels/neuron_ids"):
        if not isinstance(handle.get(key), h5py.Dataset):
            raise _Refusal(f"CREMI file {file} has no dataset /{key}; expected /volumes/raw and "
                           f"/volumes/labels/neuron_ids")
        datasets.append(handle[key])
    raw, ids = datasets
    for key, dataset in zip(("volumes/raw", "volumes/labels/neuron_ids"), datasets):
        virtual, external = dataset.is_virtual, dataset.external
        if virtual or external:
            where = ("in other files (a virtual dataset)" if virtual else
                     f"outside the file (external storage in {', '.join(str(e[0]) for e in external)})")
            raise _Refusal(f"CREMI file {file}: /{key} keeps its data {where}; refusing to follow it "
                           f"(it could read any file or block on a pipe): expected the data inside the file")
    if raw.ndim != 3 or ids.ndim != 3:
        raise _Refusal(f"CREMI file {file}: /volumes/raw and /volumes/labels/neuron_ids must be 3-D; "
                       f"got shapes {raw.shape} and {ids.shape}")
    if raw.dtype != np.uint8 or ids.dtype.kind not in "iu":
        raise _Refusal(f"CREMI file {file}: expected uint8 raw and integer neuron ids; got {raw.dtype} "
                       f"and {ids.dtype}")
    if max(raw.size, ids.size) > MAX_VOXELS:
        raise _Refusal(f"CREMI file {file} has shapes {raw.shape} and {ids.shape}, more than MAX_VOXELS "
                       f"= {MAX_VOXELS} values; refusing to read it")
    window = _cremi_window(file, raw, ids)
    _check_bytes(ids.size * (ids.dtype.itemsize + 6), file, "CREMI file",  # + raw, float32, bool
                 f"raw {raw.shape} and neuron ids {ids.shape} of {ids.dtype}")
    return raw[window], ids[()]


def _cremi_window(file, raw, ids):
    """The part of raw under the labels: all of it, or (padded files) from the offset."""
    if raw.shape == ids.shape:
        return ()
    offset, resolution = ids.attrs.get("offset"), raw.attrs.get("resolution")
    if offset is None or resolution is None:
        raise _Refusal(f"CREMI file {file}: /volumes/raw has shape {raw.shape} but the neuron ids "
                       f"{ids.shape}, and no offset/resolution attributes place one in the other")
    start = np.asarray(offset, dtype=np.float64) / np.asarray(resolution, dtype=np.float64)
    if len(start) != 3 or not np.array_equal(start, np.round(start)) or (start < 0).any() or \
            (start + ids.shape > raw.shape).any():
        raise _Refusal(f"CREMI file {file}: the neuron ids {ids.shape} at offset {tuple(offset)} (nm, "
                       f"resolution {tuple(resolution)}) do not fit in /volumes/raw {raw.shape}")
    return tuple(slice(int(s), int(s) + n) for s, n in zip(start, ids.shape))


def load_cremi(path, *, volume=False):
    """CREMI volumes (hdf5), with membranes from the neuron ids.

    On disk: an hdf5 file (``.hdf``, ``.h5``, ``.hdf5``), or a folder of them (read in
    name order), each with ``/volumes/raw`` (uint8, ``(Z, Y, X)``) and
    ``/volumes/labels/neuron_ids`` (integer ids, uint64 in the challenge). The target
    is, per section, the pixels with a 4-neighbour of another id (the border mask of the
    CREMI evaluation, before it dilates it), and the pixels of CREMI's background label
    ``0xFFFFFFFFFFFFFFFD`` (not a neuron; for 64-bit ids only). In the "padded" files,
    raw is larger than the ids: the ids' ``offset`` attribute (nm) over raw's
    ``resolution`` attribute (nm per voxel) says where they lie, and raw is cropped there.

    Parameters
    ----------
    path : str or os.PathLike
        A file or a folder.
    volume : bool, optional
        False (default): one 2-D image per section, named ``"<stem>/z000"``, ...; True:
        one 3-D image per file, named by its stem.

    Returns
    -------
    data : SegmentationSet
        ``regions="background"``.

    Raises
    ------
    FileNotFoundError
        If the path does not exist, or a folder holds no hdf5 file.
    ValueError
        If a file is not valid hdf5 (corrupt, truncated), lacks a dataset, has the wrong
        dimension or dtype, is too large, or its shapes do not fit.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> tmp = tempfile.TemporaryDirectory(); file = pathlib.Path(tmp.name) / "sample_A.hdf"
    >>> with h5py.File(file, "w") as f:
    ...     _ = f.create_dataset("volumes/raw", data=np.zeros((1, 3, 4), np.uint8))
    ...     _ = f.create_dataset("volumes/labels/neuron_ids", data=np.array([[[1, 1, 2, 2]] * 3], np.uint64))
    >>> data = load_cremi(file)
    >>> data.names, data[0][1].astype(int)
    (('sample_A/z00',), array([[0, 1, 1, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 0]]))
    >>> tmp.cleanup()
    """
    path = _as_path(path)
    volume = as_bool(volume, "volume")
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in (".hdf", ".h5", ".hdf5"))
        if not files:
            raise FileNotFoundError(f"no CREMI file (.hdf, .h5, .hdf5) in {path}")
    else:
        files = [_file(path, "CREMI file")]
    pairs = [_cremi_file(f) for f in files]
    return _sections("cremi", [f.stem for f in files], [p[0] for p in pairs], [p[1] for p in pairs], volume,
                     "background", f"CREMI ({path}): /volumes/raw, membranes = boundaries of "
                                   f"/volumes/labels/neuron_ids per section and background")


def load_em_vnc(path, sections=None, split=None):
    """This project's EM data: sections of the Drosophila ventral nerve cord with membranes.

    On disk, in the folder `path`: ``raw/NN.tif`` (8-bit greyscale sections, 1024 x 1024)
    and ``membranes/NN.png`` (1-bit, True on membranes), NN = 00, 01, ...

    Parameters
    ----------
    path : str or os.PathLike
        The folder (``shared/data/em-vnc`` in this project's workspace).
    sections : sequence of int or str, optional
        The sections to load, as ids (``3`` or ``"03"``). Not with `split`.
    split : {"train", "validation"}, optional
        The project's split: sections 00-09 for training, 10-13 for validation. With
        neither `sections` nor `split`, every section in ``raw/`` is loaded.

    Returns
    -------
    data : SegmentationSet
        2-D images named ``"00"``, ...; ``regions="background"``.

    Raises
    ------
    TypeError
        If `sections` is not a sequence of ints or strings, or `split` not a string.
    FileNotFoundError
        If the folder, a section's image or its membranes are missing.
    ValueError
        If both `sections` and `split` are given, `split` is unknown, or a file is
        corrupt, too large, of an unsupported dtype or of the wrong shape.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name)
    >>> (root / "raw").mkdir(); (root / "membranes").mkdir()
    >>> tifffile.imwrite(root / "raw" / "00.tif", np.full((4, 4), 102, np.uint8))
    >>> Image.fromarray(np.eye(4, dtype=bool)).save(root / "membranes" / "00.png")
    >>> data = load_em_vnc(root, sections=[0])
    >>> data.names, bool(data[0][0][0, 0] == np.float32(0.4)), int(data[0][1].sum())
    (('00',), True, 4)
    >>> tmp.cleanup()
    """
    root = _folder(_as_path(path), "em-vnc")
    if sections is not None and split is not None:
        raise ValueError(f"give `sections` or `split`, not both; got sections={sections!r} and split={split!r}")
    if split is not None:
        names = [f"{i:02d}" for i in _EM_VNC_SPLITS[as_choice(split, tuple(_EM_VNC_SPLITS), "split")]]
    elif sections is not None:
        if isinstance(sections, (str, bytes)) or not hasattr(sections, "__iter__"):
            raise TypeError(f"`sections` must be a sequence of ints or strings; got {type(sections).__name__}")
        names = []
        for s in sections:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer, str)):
                raise TypeError(f"`sections` must hold ints or strings; got {s!r}")
            names.append(s if isinstance(s, str) else f"{int(s):02d}")
    else:
        names = sorted(_by_stem(root / "raw", "em-vnc raw", (".tif", ".tiff")))
    pairs = [_read_pair(root / "raw" / f"{n}.tif", root / "membranes" / f"{n}.png",
                        what=("em-vnc raw section", "em-vnc membranes")) for n in names]
    return SegmentationSet([p[0] for p in pairs], [p[1] for p in pairs], names, "background",
                           f"em-vnc ({root}): raw/NN.tif, membranes/NN.png, sections {', '.join(names)}")


# -- curvilinear data ------------------------------------------------------------------

def load_drive(path, split="training", *, fov=True):
    """The DRIVE retinal vessel data set.

    On disk, in ``<path>/<split>/``: ``images/NN_<split>.tif`` (RGB photographs,
    565 x 584), ``1st_manual/NN_manual1.gif`` (the first observer's annotation, a
    palette or greyscale GIF: vessels are the non-zero pixels) and, optionally,
    ``mask/NN_<split>_mask.gif`` (the field of view, non-zero inside). Images are the
    green channel (a greyscale image is taken as it is).

    Parameters
    ----------
    path : str or os.PathLike
        The folder holding ``training/`` and ``test/``.
    split : {"training", "test"}, optional
        Which half.
    fov : bool, optional
        If True (default) and ``mask/`` exists, set the image to 0 and the target to
        False outside the field of view.

    Returns
    -------
    data : SegmentationSet
        2-D images named ``"21_training"``, ...; ``regions="foreground"``.

    Raises
    ------
    FileNotFoundError
        If a folder or file is missing (when ``mask/`` exists, every image needs its mask).
    ValueError
        If `split` is unknown, an image is not named ``NN_<split>``, or a file is
        corrupt, too large, of an unsupported dtype or of another shape than its image.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name) / "training"
    >>> for sub in ("images", "1st_manual"): (root / sub).mkdir(parents=True)
    >>> tifffile.imwrite(root / "images" / "21_training.tif", np.full((3, 4, 3), 255, np.uint8))
    >>> manual = Image.new("P", (4, 3)); manual.putpalette([0, 0, 0, 255, 255, 255]); manual.putpixel((1, 2), 1)
    >>> manual.save(root / "1st_manual" / "21_manual1.gif")
    >>> data = load_drive(root.parent)
    >>> data.names, np.argwhere(data[0][1]).tolist()
    (('21_training',), [[2, 1]])
    >>> tmp.cleanup()
    """
    split = as_choice(split, ("training", "test"), "split")
    fov = as_bool(fov, "fov")
    root = _folder(_as_path(path) / split, "DRIVE split")
    mask_folder = root / "mask"
    files = sorted(_by_stem(root / "images", "DRIVE image", (".tif", ".tiff")).items())
    for stem, file in files:
        if stem.partition("_")[2] != split:
            raise ValueError(f"DRIVE image {file} must be named NN_{split}.tif; got {file.name}")
    images, targets, names = [], [], []
    for stem, file in files:
        number = stem.partition("_")[0]
        image, target = _read_pair(file, root / "1st_manual" / f"{number}_manual1.gif", channel="green",
                                   threshold=0.0, what=("DRIVE image", "DRIVE manual annotation"))
        if mask_folder.is_dir():
            inside = _read_mask(mask_folder / f"{number}_{split}_mask.gif", "DRIVE field-of-view mask",
                                image.shape, f"DRIVE image {file}", 0.0)
            if fov:
                image = np.where(inside, image, np.float32(0))
                target = target & inside
        images.append(image)
        targets.append(target)
        names.append(stem)
    return SegmentationSet(images, targets, names, "foreground",
                           f"DRIVE ({root}): green channel, target = 1st_manual != 0"
                           f"{', field of view applied' if fov and mask_folder.is_dir() else ''}")


def load_cracktree(path, *, images="image", masks="gt", foreground="auto"):
    """A CrackTree-style pavement crack data set (CrackTree200/260, CRKWH100, ...).

    On disk, in the folder `path`: a folder of photographs (``image/*.jpg`` by default;
    any of png, tif, tiff, jpg, jpeg, bmp, gif) and one of ground-truth images
    (``gt/*.bmp`` or png, ...), matched by file stem. The photographs are converted to
    grey (luma); cracks are dark in them. Copies of these data sets disagree on the
    ground truth's polarity (white cracks on black in DeepCrack's CrackTree260, black
    on white in others), hence `foreground`.

    Parameters
    ----------
    path : str or os.PathLike
        The data set's folder.
    images, masks : str, optional
        The names of the two subfolders.
    foreground : {"auto", "white", "black"}, optional
        Which ground-truth pixels are cracks: above half the range ("white"), below it
        ("black"), or, per image, the less frequent of the two ("auto": cracks are thin).

    Returns
    -------
    data : SegmentationSet
        2-D images named by stem; ``regions="foreground"``.

    Raises
    ------
    TypeError
        If `foreground`, `images` or `masks` is not a string.
    FileNotFoundError
        If a folder is missing or empty.
    ValueError
        If `foreground` is unknown, names do not match both ways, or a file is corrupt,
        too large, of an unsupported dtype or of another shape than its image.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name)
    >>> (root / "image").mkdir(); (root / "gt").mkdir()
    >>> Image.fromarray(np.full((4, 5, 3), 200, np.uint8)).save(root / "image" / "6192.jpg")
    >>> gt = np.full((4, 5), 255, np.uint8); gt[2] = 0
    >>> Image.fromarray(gt).save(root / "gt" / "6192.bmp")
    >>> load_cracktree(root)[0][1].astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0],
           [1, 1, 1, 1, 1],
           [0, 0, 0, 0, 0]])
    >>> tmp.cleanup()
    """
    foreground = as_choice(foreground, ("auto", "white", "black"), "foreground")
    root = _folder(_as_path(path), "CrackTree")
    for value, name in ((images, "images"), (masks, "masks")):
        if not isinstance(value, str):
            raise TypeError(f"`{name}` must be a folder name (str); got {type(value).__name__}")
    pairs = _matched(_by_stem(root / images, "CrackTree image"), _by_stem(root / masks, "CrackTree ground-truth"),
                     root / images, root / masks)
    loaded, targets = [], []
    for _, image_file, mask_file in pairs:
        image, white = _read_pair(image_file, mask_file, what=("CrackTree image", "CrackTree ground truth"))
        crack = {"white": white, "black": ~white}.get(foreground)
        if crack is None:
            crack = white if white.sum() <= white.size - white.sum() else ~white
        loaded.append(image)
        targets.append(crack)
    return SegmentationSet(loaded, targets, [p[0] for p in pairs], "foreground",
                           f"CrackTree ({root}): {images}/ and {masks}/, cracks = {foreground} pixels")


def load_roads(path, split="train"):
    """The Massachusetts roads data set (Mnih 2013).

    On disk: ``<path>/<split>/*.tiff`` (RGB aerial photographs, 1500 x 1500) and
    ``<path>/<split>_labels/*.tif`` (255 on roads, 0 elsewhere), matched by stem. Images
    are converted to grey (luma).

    Parameters
    ----------
    path : str or os.PathLike
        The folder holding the split folders.
    split : str, optional
        The split's folder name: "train", "val" or "test" in the common copies.

    Returns
    -------
    data : SegmentationSet
        2-D images named by stem; ``regions="foreground"``.

    Raises
    ------
    TypeError
        If `split` is not a string.
    FileNotFoundError
        If a folder is missing or holds no tif.
    ValueError
        If names do not match both ways, or a file is corrupt, too large, of an
        unsupported dtype or of another shape than its image.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name)
    >>> (root / "val").mkdir(); (root / "val_labels").mkdir()
    >>> tifffile.imwrite(root / "val" / "10228690_15.tiff", np.zeros((2, 3, 3), np.uint8))
    >>> tifffile.imwrite(root / "val_labels" / "10228690_15.tif", np.array([[0, 255, 0], [0, 255, 0]], np.uint8))
    >>> load_roads(root, "val")[0][1].astype(int)
    array([[0, 1, 0],
           [0, 1, 0]])
    >>> tmp.cleanup()
    """
    if not isinstance(split, str):
        raise TypeError(f"`split` must be a folder name (str); got {type(split).__name__}")
    root = _as_path(path)
    pairs = _matched(_by_stem(root / split, "roads image", (".tiff", ".tif")),
                     _by_stem(root / f"{split}_labels", "roads label", (".tif", ".tiff")),
                     root / split, root / f"{split}_labels")
    loaded = [_read_pair(i, m, what=("roads image", "roads label")) for _, i, m in pairs]
    return SegmentationSet([p[0] for p in loaded], [p[1] for p in loaded], [p[0] for p in pairs], "foreground",
                           f"Massachusetts roads ({root}): {split}/ and {split}_labels/, roads = 255")


def load_folder(images, masks, *, regions="background", threshold=0.5, mask_suffix=""):
    """Any folder of images and a folder of their binary masks, matched by file stem.

    Files: png, tif, tiff, jpg, jpeg, bmp or gif (any case); 2-D greyscale, 2-D colour
    (converted to grey: luma), or 3-D tif stacks (all 2-D or all 3-D). A mask must have
    its image's shape; its foreground is True, 1, or a value above `threshold` once
    converted like an image (see the module docstring).

    Parameters
    ----------
    images, masks : str or os.PathLike
        The two folders (they may be the same one, with a `mask_suffix`).
    regions : {"background", "foreground"}, optional
        "background" for membrane-like masks (regions are the cells between them),
        "foreground" for curvilinear ones.
    threshold : float, optional
        In [0, 1): masks above it (after conversion to [0, 1]) are foreground.
    mask_suffix : str, optional
        A mask's stem is its image's stem plus this (e.g. ``"_mask"``).

    Returns
    -------
    data : SegmentationSet
        Named by the images' stems, in sorted order.

    Raises
    ------
    TypeError
        If an argument is of the wrong kind.
    FileNotFoundError
        If a folder is missing or holds no image.
    ValueError
        If `regions` or `threshold` is out of range, names do not match both ways, a
        stem appears twice in a folder, or a file is corrupt, too large, of an
        unsupported dtype or of another shape than its image.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name)
    >>> Image.fromarray(np.full((2, 3), 255, np.uint8)).save(root / "a.png")
    >>> Image.fromarray(np.array([[0, 1, 0], [0, 1, 0]], np.uint8)).save(root / "a_mask.png")
    >>> data = load_folder(root, root, mask_suffix="_mask")
    >>> data.names, data[0][1].astype(int).tolist()
    (('a',), [[0, 1, 0], [0, 1, 0]])
    >>> tmp.cleanup()
    """
    regions = as_choice(regions, ("background", "foreground"), "regions")
    threshold = _check_threshold(threshold)
    if not isinstance(mask_suffix, str):
        raise TypeError(f"`mask_suffix` must be a str; got {type(mask_suffix).__name__}")
    image_folder, mask_folder = _as_path(images, "images"), _as_path(masks, "masks")
    image_files = _by_stem(image_folder, "image")
    mask_files = _by_stem(mask_folder, "mask")
    if image_folder.resolve() == mask_folder.resolve():
        if not mask_suffix:
            raise ValueError(f"`images` and `masks` are the same folder {image_folder}: give a `mask_suffix` "
                             f"that tells masks from images")
        mask_files = {s: f for s, f in mask_files.items() if s.endswith(mask_suffix)}
        image_files = {s: f for s, f in image_files.items() if s not in mask_files}
    pairs = _matched(image_files, mask_files, image_folder, mask_folder, mask_suffix)
    loaded = [_read_pair(i, m, ndim=(2, 3), threshold=threshold) for _, i, m in pairs]
    return SegmentationSet([p[0] for p in loaded], [p[1] for p in loaded], [p[0] for p in pairs], regions,
                           f"folder: images {image_folder}, masks {mask_folder}"
                           f"{f' (suffix {mask_suffix!r})' if mask_suffix else ''}")


_TOPOMORTAR_SPLITS = ("train", "val", "test")
_COLOURS = ("rgb", "luma")


def load_topomortar(path, split=None, *, colour="rgb"):
    """The TopoMortar benchmark: mortar between bricks, RGB photographs and their masks.

    Layout (Valverde et al., BMVC 2025): ``<split>/images/NNN.png`` (RGB, 512 x 512)
    and ``<split>/labels/NNN.png`` (8-bit, 255 = mortar). The mortar of an image is
    one connected network (``b0 = 1``) and each whole brick is a hole in it, so the
    regions are the background's components (the bricks), as for membranes.

    Parameters
    ----------
    path : str or os.PathLike
        The data set's root (holding ``train/``, ``val/``, ...) with a `split`, or one
        split's own folder (holding ``images/`` and ``labels/``, e.g. a held-out test
        folder) with ``split=None``.
    split : {None, "train", "val", "test"}, optional
        The split's folder under `path`; None: `path` is that folder.
    colour : {"rgb", "luma"}, optional
        ``"rgb"``: images of shape (3, H, W) (``channels=3``: a 3-channel network
        input); ``"luma"``: greyscale (H, W), as the other loaders convert colour.

    Returns
    -------
    data : SegmentationSet
        Named by the file stems, in sorted order; regions "background".

    Raises
    ------
    TypeError
        If an argument is of the wrong kind.
    FileNotFoundError
        If a folder is missing or holds no image.
    ValueError
        If `split` or `colour` is unknown, names of images and labels do not match, an
        image is not colour or a file is corrupt, too large or of another shape than its
        image.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory(); root = pathlib.Path(tmp.name)
    >>> for sub in ("images", "labels"): (root / "val" / sub).mkdir(parents=True)
    >>> Image.fromarray(np.full((4, 5, 3), 200, np.uint8)).save(root / "val/images/000.png")
    >>> Image.fromarray(np.array([[255] * 5, [255, 0, 0, 0, 255]] * 2, np.uint8)).save(root / "val/labels/000.png")
    >>> data = load_topomortar(root, "val")
    >>> data.channels, data[0][0].shape, int(data[0][1].sum())
    (3, (3, 4, 5), 14)
    >>> tmp.cleanup()
    """
    root = _as_path(path)
    if split is not None:
        split = as_choice(split, _TOPOMORTAR_SPLITS, "split")
        root = root / split
    colour = as_choice(colour, _COLOURS, "colour")
    _folder(root, "TopoMortar split")
    pairs = _matched(_by_stem(root / "images", "TopoMortar image"), _by_stem(root / "labels", "TopoMortar label"),
                     root / "images", root / "labels")
    images, targets = [], []
    for stem, image_path, label_path in pairs:
        with ImageFile(image_path, "TopoMortar image") as image:
            image.check((2,), "image")
            if not image.colour:
                raise ValueError(f"TopoMortar image {image_path} is not a colour image; expected RGB")
            pixels = image.read()
            if colour == "luma":
                pixels = _unit(pixels, True, image_path, "TopoMortar image")
            else:  # channel first, each plane converted as a grey image is
                pixels = np.stack([_unit(pixels[..., k], False, image_path, "TopoMortar image")
                                   for k in range(3)])
        images.append(pixels)
        targets.append(_read_mask(label_path, "TopoMortar label", image.shape, f"image {image_path}", 0.5))
    return SegmentationSet(images, targets, [stem for stem, _, _ in pairs], "background",
                           f"TopoMortar ({root}): images/ (RGB{', as luma' if colour == 'luma' else ''}) "
                           f"and labels/ (mortar = 255)", channels=3 if colour == "rgb" else 1)
