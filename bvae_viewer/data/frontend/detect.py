"""Is a volume already what the model expects: skull-stripped?

A stripped volume is analysed as given, on its own slices, whatever its spacing (the
existing slicing resamples each slice to 128x128 and keeps the slices as they are): the
front end's registration aligns a head with skull, and on a stripped brain it would only
add error. A head with skull, or anything unlike a stripped brain, goes through it.
"""

from __future__ import annotations

import numpy as np

from bvae_viewer.io.volume import Volume

# A stripped volume is mostly background; a head with skull, neck and noise is not.
MIN_BACKGROUND_FRACTION = 0.6
# Foreground of stripped training brains measured 905-2,544 ml; heads with skull
# 3,300-4,800 (issue 17), and 2,893 for ITK's head with skull in a tight field of view.
MAX_STRIPPED_ML = 2600.0


def prepared_reason(volume: Volume) -> str | None:
    """None when the volume already looks prepared; else why the front end must run."""
    spacing = np.asarray(volume.spacing)
    data = np.asarray(volume.data)
    # The foreground as preprocess.brain_mask_3d thresholds it, without its (slow) clean-up;
    # background is everything below that line, so a little noise does not count as head.
    low = float(np.percentile(data, 1))
    positive = data[data > low]
    threshold = low + 0.05 * (float(np.percentile(positive, 99)) - low) if positive.size else low
    foreground = data > threshold
    background = 1.0 - float(np.mean(foreground))
    if background < MIN_BACKGROUND_FRACTION:
        return f"background only {background:.0%} of the volume (not skull-stripped)"
    ml = float(np.count_nonzero(foreground)) * float(np.prod(spacing)) / 1000.0
    # No lower bound: a small stripped volume (a crop, a phantom) has no skull to remove.
    if ml > MAX_STRIPPED_ML:
        return f"foreground of {ml:,.0f} ml (a stripped brain is at most {MAX_STRIPPED_ML:,.0f})"
    return None
