"""The container every loader and generator returns: images with their binary targets."""

import dataclasses

import numpy as np

__all__ = ["SegmentationSet"]

_REGIONS = ("background", "foreground")


@dataclasses.dataclass(frozen=True)
class SegmentationSet:
    """Images and their binary ground truth, as loaded from disk or generated.

    Parameters
    ----------
    images : sequence of (M, N) or (P, M, N) ndarray of float32
        Intensities in [0, 1], all 2-D or all 3-D; with ``channels > 1``, each image
        is ``(channels, *spatial)`` (for example the three colour planes of an RGB
        photograph), channel first as torch has it.
    targets : sequence of ndarray of bool
        The structure to segment (membranes, vessels, roads, ...), one per image and of
        its shape.
    names : sequence of str
        One name per image, for logs and file names (for example ``"00"`` or
        ``"sample_A/z012"``).
    regions : {"background", "foreground"}
        Which connected components are the regions for ARI, VOI and cell counts (see
        :func:`dmtloss.metrics.region_labels`): the background's (cells between
        membranes) or the foreground's (vessels, roads, cracks).
    source : str
        Where the data came from, in words (a path, or the generator and its arguments).
    channels : int, optional
        Channels of every image: 1 (greyscale, no channel axis) or more (a leading
        channel axis; the network then takes that many input channels).

    Raises
    ------
    TypeError
        If an image is not float32 or a target is not bool.
    ValueError
        If the lengths differ, a target's shape is not its image's, the images mix 2-D
        and 3-D, values are outside [0, 1] or not finite, or `regions` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> s = SegmentationSet([np.zeros((4, 5), np.float32)], [np.ones((4, 5), bool)],
    ...                     ["a"], "background", "example")
    >>> len(s), s.ndim
    (1, 2)
    >>> image, target = s[0]
    >>> target.shape
    (4, 5)
    >>> rgb = SegmentationSet([np.zeros((3, 4, 5), np.float32)], [np.ones((4, 5), bool)],
    ...                       ["b"], "foreground", "example", channels=3)
    >>> rgb.ndim, rgb.spatial_shape(0)
    (2, (4, 5))
    """

    images: tuple
    targets: tuple
    names: tuple
    regions: str
    source: str
    channels: int = 1

    def __post_init__(self):
        images = tuple(self.images)
        targets = tuple(self.targets)
        names = tuple(str(n) for n in self.names)
        if not (len(images) == len(targets) == len(names)):
            raise ValueError(f"`images`, `targets` and `names` must have the same length; "
                             f"got {len(images)}, {len(targets)} and {len(names)}")
        if self.regions not in _REGIONS:
            raise ValueError(f"`regions` must be one of {_REGIONS}; got {self.regions!r}")
        channels = self.channels
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
            raise TypeError(f"`channels` must be an int; got {type(channels).__name__}")
        if not 1 <= channels <= 64:
            raise ValueError(f"`channels` must be in [1, 64]; got {channels}")
        channels = int(channels)
        dims = set()
        for name, image, target in zip(names, images, targets):
            if not isinstance(image, np.ndarray) or image.dtype != np.float32:
                raise TypeError(f"image {name!r} must be a float32 ndarray; got "
                                f"{getattr(image, 'dtype', type(image).__name__)}")
            if not isinstance(target, np.ndarray) or target.dtype != np.bool_:
                raise TypeError(f"target {name!r} must be a bool ndarray; got "
                                f"{getattr(target, 'dtype', type(target).__name__)}")
            if channels == 1:
                if image.ndim not in (2, 3):
                    raise ValueError(f"image {name!r} must be 2-D or 3-D; got shape {image.shape}")
                if target.shape != image.shape:
                    raise ValueError(f"target {name!r} must have its image's shape {image.shape}; "
                                     f"got {target.shape}")
            else:
                if image.ndim not in (3, 4) or image.shape[0] != channels:
                    raise ValueError(f"image {name!r} must have shape ({channels}, *spatial) with 2 or 3 "
                                     f"spatial axes (channels={channels}); got shape {image.shape}")
                if target.shape != image.shape[1:]:
                    raise ValueError(f"target {name!r} must have its image's spatial shape {image.shape[1:]}; "
                                     f"got {target.shape}")
            if image.size and not (np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
                raise ValueError(f"image {name!r} must hold finite values in [0, 1]")
            dims.add(target.ndim)
        if len(dims) > 1:
            raise ValueError("`images` must be all 2-D or all 3-D; got both")
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "channels", channels)

    @property
    def ndim(self):
        """2 or 3: the number of spatial axes of the images (2 for an empty set)."""
        return self.targets[0].ndim if self.targets else 2

    def spatial_shape(self, index):
        """The spatial shape of image `index`: its target's shape (no channel axis)."""
        return self.targets[index].shape

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.targets[index]

    def subset(self, indices):
        """The images at `indices` (a sequence of ints), as a new set.

        Examples
        --------
        >>> import numpy as np
        >>> s = SegmentationSet([np.zeros((2, 2), np.float32)] * 3, [np.ones((2, 2), bool)] * 3,
        ...                     ["a", "b", "c"], "background", "example")
        >>> s.subset([2, 0]).names
        ('c', 'a')
        """
        indices = [int(i) for i in indices]
        return SegmentationSet([self.images[i] for i in indices],
                               [self.targets[i] for i in indices],
                               [self.names[i] for i in indices], self.regions, self.source,
                               self.channels)
