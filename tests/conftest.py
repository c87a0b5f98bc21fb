from __future__ import annotations

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _quiet() -> None:
    """Library output off in tests (the CLI's --quiet); a test that checks output turns it on."""
    from vqspeech import progress

    progress.set_quiet(True)
