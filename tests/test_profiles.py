"""One claim file, two profiles: a `[profile.full]` table defines the full claim (id + "-full") by
what it changes; `verify run FILE` runs the quick claim, `--profile full` both."""

from __future__ import annotations

import pytest

from verify.claims.schema import load_all, load_claim, load_claims
from verify.cli import _select
from verify.errors import InputError

BASE = """schema = "verify-claim/1"
id = "loss-p"
title = "quick title"
statement = "s"
formalization = "MATH.md section 3"
kind = "loss-vs-mpmath"
expected_status = "verified"

[method]
description = "m"

[parameters]
activations = ["relu"]
N = 10
d = 4
M = 2
seeds = [1]

[tolerance]
rel = 1e-12
source = "t"

[[tracked]]
figure = "max_rel_error"
max = 1e-12
"""

FULL = """
[profile.full]
title = "full title"

[profile.full.parameters]
N = 40
seeds = [1, 2, 3]

[[profile.full.tracked]]
figure = "instances"
min = 3
"""


def _write(tmp_path, text, name="loss-p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_profile_full_table_gives_the_quick_and_the_full_claim(tmp_path):
    path = _write(tmp_path, BASE + FULL)
    quick, full = load_claims(path)
    assert (quick.id, quick.profile, full.id, full.profile) == ("loss-p", "quick", "loss-p-full", "full")
    assert (quick.title, full.title) == ("quick title", "full title")
    assert quick.parameters["N"] == 10 and quick.parameters["seeds"] == [1]
    assert full.parameters["N"] == 40 and full.parameters["seeds"] == [1, 2, 3]
    assert full.parameters["d"] == quick.parameters["d"] == 4  # not overridden: inherited
    assert [t["figure"] for t in quick.tracked] == ["max_rel_error"]
    assert [t["figure"] for t in full.tracked] == ["instances"]  # tracked is replaced, not merged
    assert quick.sha256 == full.sha256 and quick.text == full.text
    assert load_claim(path) == quick


@pytest.mark.parametrize("extra, match", [
    ('\n[profile.full]\nkind = "loss-vs-monte-carlo"\n', "cannot change 'kind'"),
    ('\n[profile.full]\nid = "other"\n', "cannot change 'id'"),
    ('\n[profile.full.parameters]\nN = 0\n', r"\[profile.full\].*N"),  # the full claim's ranges are checked too
    ('\n[profile.full.parameters]\nbogus = 1\n', "unknown parameter"),
    ('\n[profile.other]\ntitle = "x"\n', r"\[profile\] may only hold"),
])
def test_bad_profile_tables_are_refused_at_load(tmp_path, extra, match):
    with pytest.raises(InputError, match=match):
        load_claims(_write(tmp_path, BASE + extra))


def test_run_selection_by_profile(tmp_path):
    both = _write(tmp_path, BASE + FULL)
    only_full = _write(tmp_path, BASE.replace('id = "loss-p"', 'id = "loss-f"').replace(
        'kind = "loss-vs-mpmath"', 'kind = "loss-vs-mpmath"\nprofile = "full"'), "loss-f.toml")
    claims = load_all([str(both), str(only_full)])
    ids = lambda cs: [c.id for c in cs]  # noqa: E731
    # named files: quick claims, and a file whose claims are all full is run as named
    assert ids(_select(claims, "quick", True)) == ["loss-p", "loss-f"]
    assert ids(_select(claims, "full", True)) == ["loss-p", "loss-p-full", "loss-f"]
    # the default folder: quick claims only, or everything with --profile full
    assert ids(_select(claims, "quick", False)) == ["loss-p"]
    assert ids(_select(claims, "full", False)) == ["loss-p", "loss-p-full", "loss-f"]


def test_shipped_claims_load_with_their_full_profiles():
    claims = load_all(None)
    quick = [c for c in claims if c.profile == "quick"]
    full = [c for c in claims if c.profile == "full"]
    assert len(quick) == 32 and len(full) == 14
    quick_of = {c.path: c for c in quick}
    assert all(c.id == quick_of[c.path].id + "-full" for c in full)  # each full claim beside its quick one
