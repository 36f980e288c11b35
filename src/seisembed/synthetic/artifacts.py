"""Recording artefacts and pick errors, all drawn independently of the event class.

Per record (from the record's own stream): a heavy-tailed pick error (Student t,
scale 0.3-0.7 s by default, clipped), and rarely a gap (1-20 s, all channels), a
glitch (a one-sample spike on one channel), clipping (all channels at 30-70 % of
the record's peak) or a dead channel (flat zeros). A 24-bit digitizer clip
(+-2^23 counts) applies to every record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seisembed.synthetic.params import SyntheticParams

DIGITIZER_LIMIT_COUNTS = 2**23 - 1


@dataclass
class ArtefactDraw:
    """What was drawn for one record (times in samples from the record start)."""

    pick_error_s: float
    gap: tuple[int, int] | None = None
    glitch: tuple[int, int, float] | None = None
    clip_fraction: float | None = None
    dead_component: int | None = None
    flags: dict = field(default_factory=dict)


def draw_artefacts(rng: np.random.Generator, n_samples: int, fs_hz: float, params: SyntheticParams) -> ArtefactDraw:
    """Draw the pick error (s) and the artefacts of one record (always the same number of draws)."""
    scale = rng.uniform(params.pick_error_scale_min_s, params.pick_error_scale_max_s)
    err = float(
        np.clip(scale * rng.standard_t(params.pick_error_df), -params.pick_error_max_s, params.pick_error_max_s)
    )
    u = rng.uniform(size=4)
    gap_len = int(rng.uniform(1.0, 20.0) * fs_hz)
    gap_start = int(rng.integers(0, max(1, n_samples - gap_len)))
    glitch_comp, glitch_at = int(rng.integers(0, 3)), int(rng.integers(0, n_samples))
    glitch_amp = float(rng.uniform(20.0, 100.0) * rng.choice([-1.0, 1.0]))
    clip_frac = float(rng.uniform(0.3, 0.7))
    dead = int(rng.integers(0, 3))
    draw = ArtefactDraw(err)
    if u[0] < params.p_gap:
        draw.gap = (gap_start, gap_len)
    if u[1] < params.p_glitch:
        draw.glitch = (glitch_comp, glitch_at, glitch_amp)
    if u[2] < params.p_clipped:
        draw.clip_fraction = clip_frac
    if u[3] < params.p_dead_channel:
        draw.dead_component = dead
    return draw


def apply_artefacts(data: np.ndarray, valid: np.ndarray, draw: ArtefactDraw) -> dict:
    """Apply the drawn artefacts in place to ``data`` (3, n) counts and ``valid`` (n,); return flags."""
    flags = {
        "artefact_gap": False,
        "artefact_glitch": False,
        "artefact_clipped": False,
        "artefact_dead_channel": False,
        "artefact_digitizer_clip": False,
        "gap_start_sample": -1,
        "gap_samples": 0,
        "dead_component": -1,
    }
    if draw.glitch is not None:
        comp, at, amp = draw.glitch
        data[comp, at] += amp * float(np.std(data[comp, : max(10, data.shape[1] // 10)]))
        flags["artefact_glitch"] = True
    if draw.clip_fraction is not None:
        level = draw.clip_fraction * float(np.max(np.abs(data)))
        np.clip(data, -level, level, out=data)
        flags["artefact_clipped"] = True
    if draw.dead_component is not None:
        data[draw.dead_component] = 0.0
        flags["artefact_dead_channel"] = True
        flags["dead_component"] = draw.dead_component
    if np.max(np.abs(data)) > DIGITIZER_LIMIT_COUNTS:
        np.clip(data, -DIGITIZER_LIMIT_COUNTS, DIGITIZER_LIMIT_COUNTS, out=data)
        flags["artefact_digitizer_clip"] = True
    if draw.gap is not None:
        start, length = draw.gap
        valid[start : start + length] = False
        flags.update(artefact_gap=True, gap_start_sample=start, gap_samples=int(min(length, valid.size - start)))
    return flags
