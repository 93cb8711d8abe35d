"""A reconciliation that waits too long for a key policy another one is writing gives up holding nothing, and its
record is queued again behind the others (a failure worth retrying soon), instead of running into the timeout."""

import threading

import pytest

from secretshare.domain.errors import KeyPolicyBusy
from secretshare.gateway import base
from secretshare.gateway.base import KeyPolicyLocks
from secretshare.runtime.retries import worth_retrying_soon

SHARED = "arn:aws:kms:eu-west-1:123456789012:key/bbbb"
TEAM = "arn:aws:kms:eu-west-1:123456789012:key/aaaa"  # sorts first: taken before the shared key


def test_a_claim_that_waits_too_long_raises_key_policy_busy_holding_nothing(monkeypatch):
    monkeypatch.setattr(base, "KEY_LOCK_WAIT_SECONDS", 0.05)
    locks = KeyPolicyLocks()
    with locks.claim() as writing:
        writing.cover([SHARED])
        with locks.claim() as waiting, pytest.raises(KeyPolicyBusy, match=f"key {SHARED}: its policy was being"):
            waiting.cover([TEAM, SHARED])
        assert waiting.held == frozenset()
        assert locks.of(TEAM).acquire(blocking=False)  # the team key it had taken first was let go
        locks.of(TEAM).release()


def test_a_claim_gets_the_key_once_the_other_lets_go():
    locks = KeyPolicyLocks()
    with locks.claim() as writing:
        writing.cover([SHARED])
        later = threading.Timer(0.05, writing.release)
        later.start()
        with locks.claim() as waiting:
            waiting.cover([SHARED])
            assert waiting.held == frozenset({SHARED})
        later.join()


def test_key_policy_busy_is_worth_retrying_soon():
    assert worth_retrying_soon(KeyPolicyBusy("key k: its policy was being written by another reconciliation"))
