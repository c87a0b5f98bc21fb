from __future__ import annotations

import numpy as np
import pytest

from vqspeech.video.eval import mse_frames, psnr_of_mse, ssim_frames, windows


def test_metrics_known_answers() -> None:
    a = np.full((2, 16, 16, 3), 100, np.uint8)
    b = a + 1
    assert psnr_of_mse(mse_frames(a, b)).tolist() == pytest.approx([20 * np.log10(255)] * 2)
    assert ssim_frames(a, a).tolist() == pytest.approx([1.0, 1.0])
    rng = np.random.default_rng(0)
    c = rng.integers(0, 256, (1, 16, 16, 3), np.uint8)
    assert ssim_frames(c, 255 - c)[0] < 0.1


def test_windows_spread_over_episodes_and_time() -> None:
    videos = [np.zeros((30, 4, 4, 3), np.uint8) + e for e in range(3)]
    actions = [np.arange(30) + 100 * e for e in range(3)]
    v, a = windows(videos, actions, 10, 4)
    assert v.shape == (4, 10, 4, 4, 3)
    starts = {(int(x[0]) // 100, int(x[0]) % 100) for x in a}
    assert len({e for e, _ in starts}) == 3 and len({s for _, s in starts}) > 1
    v, _ = windows(videos, actions, 31, 4)
    assert len(v) == 0
