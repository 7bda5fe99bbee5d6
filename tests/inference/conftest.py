"""Inference tests run torch on one thread: on a shared 2-core machine, OpenMP threads that spin-wait for a
busy core made these tests about ten times slower."""

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
