"""Tests marked ``kernel`` skip, with the probe's reason, where bpf(2) cannot be used."""

from __future__ import annotations

import pytest

from ebpy.kernel import bpf_unavailable_reason


@pytest.fixture(autouse=True)
def _skip_without_bpf(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("kernel") is None:
        return
    reason = bpf_unavailable_reason()
    if reason is not None:
        pytest.skip(f"bpf(2) unavailable: {reason}")
