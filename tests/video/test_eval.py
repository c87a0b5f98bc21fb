from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError
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


def test_true_continuation_replays_the_recorded_episode(maze16: Path) -> None:
    """Played with the episode's own actions, the replayed simulator shows exactly the recorded frames; a rollout
    equal to the truth scores the PSNR of a zero error and SSIM 1, and copy-last less where the world moves."""
    from vqspeech.video.eval import score_against_truth, true_continuation

    ep = sorted((maze16 / "test").rglob("ep*.npz"))[0]
    z = np.load(ep)
    video, actions = z["video"], z["actions"]
    frame, steps = 5, 8
    truth = true_continuation(maze16, ep, frame, actions[frame : frame + steps], video.shape[1])
    np.testing.assert_array_equal(truth, video[frame + 1 : frame + 1 + steps])
    s = score_against_truth(video[: frame + 1], truth, truth)
    exact = float(psnr_of_mse(0.0))
    assert s["rollout_psnr"] == pytest.approx([exact] * steps) and s["rollout_ssim"] == pytest.approx([1.0] * steps)
    assert s["rollout_change"] == s["truth_change"] and len(s["copy_last_psnr"]) == steps
    moved = [i for i, c in enumerate(s["truth_change"]) if c > 0]
    assert moved and s["copy_last_psnr"][moved[0]] < 60
    with pytest.raises(InputError, match="cannot be scored"):
        score_against_truth(video[:2], truth[:3], truth)


def test_motion_benchmark_scores_rollouts_against_the_simulator(maze16: Path, tiny_vqvae: Path,
                                                                tiny_prior: Path) -> None:
    from vqspeech.registry import load_model
    from vqspeech.video.eval import free_ahead, motion_benchmark

    prior, _ = load_model(tiny_prior)
    vq, _ = load_model(tiny_vqvae)
    res = motion_benchmark(prior, vq, maze16, contexts=2, context=3, steps=3, stride=1)
    assert 1 <= res["contexts"] <= 2
    for name in ("forward", "right"):
        assert set(res[name]) == {"copy last", f"rollout {name}", "rollout noop", "ceiling"}
        assert all(len(v) == 3 and all(np.isfinite(v)) for v in res[name].values())
    ep = sorted((maze16 / "test").rglob("ep*.npz"))[0]
    assert isinstance(free_ahead(maze16, ep, 2, 3), bool)
    with pytest.raises(InputError, match="no test episode has a free corridor"):
        motion_benchmark(prior, vq, maze16, context=3, steps=30)
