"""The clustering on arrays: exact close pairs and neighbours in chunks, average linkage (no chaining),
pairs kept apart, determinism, stable names, and the corrections file's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from affcurate.errors import AffcurateError, InputError
from affcurate.identity import cluster as cl
from affcurate.identity.corrections import read_corrections
from affcurate.identity.frames import five_points, frontal
from affcurate.identity.reconcile import SEVERAL_PEOPLE, SEVERAL_SUBJECTS, identify, name_identities


def people(n_people: int, per: int, seed: int = 0, spread: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.8 / np.sqrt(256), (n_people, 128))
    truth = np.repeat(np.arange(n_people), per)
    return centres[truth] + rng.normal(0, spread / np.sqrt(256), (len(truth), 128)), truth


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), radius=st.floats(0.1, 1.2), seed=st.integers(0, 1000), block=st.sampled_from([16, 500, 10**6]))
def test_scan_finds_exactly_the_close_pairs_and_nearest_neighbours(n: int, radius: float, seed: int, block: int) -> None:
    x, _ = people(max(n // 3, 1), 3, seed)
    x = x[:n]
    sc = cl.scan(x, radius, k=4, block=block)
    d = cdist(x, x)
    want = {(i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if d[i, j] <= radius}
    assert set(zip(sc.i.tolist(), sc.j.tolist(), strict=True)) == want
    np.testing.assert_allclose(sc.d, d[sc.i, sc.j])
    np.fill_diagonal(d, np.inf)
    k = min(4, len(x) - 1)
    np.testing.assert_allclose(sc.knn_d, np.sort(d, 1)[:, :k])


def test_people_are_found_and_the_order_of_the_input_does_not_matter() -> None:
    x, truth = people(30, 4)
    labels = cl.cluster(x, 0.5).labels
    assert len(set(labels)) == 30
    assert all(len(set(labels[truth == p])) == 1 for p in range(30))
    perm = np.random.default_rng(1).permutation(len(x))
    again = cl.cluster(x[perm], 0.5).labels
    back = np.empty_like(again)
    back[perm] = again
    assert {tuple(np.flatnonzero(labels == c)) for c in set(labels)} == \
        {tuple(np.flatnonzero(back == c)) for c in set(back)}


def test_a_chain_of_look_alikes_is_not_one_person() -> None:
    step = np.zeros((1, 128))
    step[0, 0] = 0.4
    x = np.concatenate([np.zeros((1, 128)), step, 2 * step])  # A 0.4 B 0.4 C: A and C 0.8 apart
    labels = cl.cluster(x, 0.5).labels
    assert labels[0] != labels[2]  # connected components alone would join all three


def test_pairs_kept_apart_never_share_an_identity() -> None:
    x, _ = people(1, 3, spread=0.2)
    labels = cl.cluster(x, 0.5, cannot=[(0, 1)]).labels
    assert labels[0] != labels[1] and labels[2] in (labels[0], labels[1])
    assert len(set(cl.cluster(x, 0.5).labels)) == 1


def test_a_component_larger_than_the_cap_is_cut_and_still_refines_the_components() -> None:
    x, truth = people(3, 10, spread=0.45)
    out = cl.cluster(x, 0.5, cap=4)
    assert out.bounded >= 1
    assert all(len(set(truth[out.labels == c])) == 1 for c in set(out.labels))


def test_a_video_descriptor_leaves_out_a_frame_of_another_face() -> None:
    x, _ = people(2, 5, spread=0.1)
    frames = np.concatenate([x[:4], x[5:6]])  # four frames of one person, one of another
    assert np.linalg.norm(cl.video_descriptor(frames, 0.5) - x[:4].mean(0)) < 1e-9


def test_the_pose_of_68_landmarks_is_read_from_their_eyes_nose_and_mouth() -> None:
    lm68 = np.zeros((1, 68, 2))
    lm68[0, 36:42] = [100, 100]
    lm68[0, 42:48] = [160, 100]
    lm68[0, 30] = [130, 130]  # nose between the eyes: frontal
    lm68[0, 48], lm68[0, 54] = [110, 160], [150, 160]
    assert five_points(lm68).shape == (1, 5, 2) and frontal(lm68)[0] == 1.0
    lm68[0, 30] = [154, 130]  # nose far to one side: turned away
    assert frontal(lm68)[0] < 0.3


def test_confidence_is_inside_and_apart_in_units_of_the_threshold() -> None:
    c = cl.confidence(np.array([0.0, 0.25, 0.1, 0.6]), np.array([np.inf, 1.5, 0.55, 0.9]), 0.5)
    np.testing.assert_allclose(c, [1.0, 0.5, 0.1, 0.0])


def test_names_stay_with_their_videos_and_new_ones_take_a_number_never_used() -> None:
    assert name_identities([["a", "b"], ["c"]], {}) == ["id0001", "id0002"]
    previous = {"a": "id0001", "b": "id0001", "e": "id0001", "c": "id0002", "d": "id0003"}
    assert name_identities([["a", "b", "e"], ["c"], ["d"]], previous) == ["id0001", "id0002", "id0003"]
    # id0001 split: the part with most of its videos keeps the name; the numbers of identities that are gone
    # (id0002 merged into it, id0003) are not given again
    assert name_identities([["a"], ["b", "c", "e"], ["f"]], previous) == ["id0004", "id0001", "id0005"]


def test_identify_without_faces_findings_and_subjects() -> None:
    x, _ = people(2, 2, spread=0.1)
    x = np.concatenate([x, np.full((1, 128), np.nan)])
    table, findings = identify(["w2", "w1", "m1", "m2", "sky"], x, ["s1", "s1", "s2", None, "s9"], 0.5)
    t = table.set_index("video_id")
    assert t.loc["w1", "identity"] == t.loc["w2", "identity"] != t.loc["m1", "identity"]
    assert t["identity"].isna().tolist() == [False, False, True, False, False]  # rows sorted by video id
    assert t.loc["m1", "nearest_identity"] == t.loc["w1", "identity"]
    assert findings["kind"].tolist() == [SEVERAL_SUBJECTS]  # m2 has no subject id: it is its own
    assert list(findings.iloc[0]["subjects"]) == ["s2", "video:m2"]
    _, merged = identify(["a", "b"], x[[0, 2]], ["s", "s"], 0.5)
    assert merged["kind"].tolist() == [SEVERAL_PEOPLE]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corrections.toml"
    path.write_text(text)
    return path


def test_corrections_join_groups_and_confirmations(tmp_path: Path) -> None:
    path = _write(tmp_path, 'same = [["a", "b"]]\ndifferent = [["a", "c", "d"]]\nconfirm = ["id0002", ["e"]]\n')
    c = read_corrections(path, set("abcdef"), {"id0002": ["c", "f"]})
    assert c.groups == [["a", "b"], ["c", "f"]]
    assert c.apart == [("a", "c"), ("a", "d"), ("c", "d")]
    assert c.confirmed == [frozenset("cf"), frozenset("e")]
    assert read_corrections(tmp_path / "none.toml", set("ab"), {}).empty


@settings(max_examples=120, deadline=None)
@given(text=st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(['same = [["a", "b"]]', 'different = [["a", "b"]]', 'confirm = ["id0001"]',
                              'confirm = [["a"]]', "same = 3", 'same = [["a", 1]]', "different = [[]]",
                              'confirm = [3]', "x = 1", "[same]", 'same = [["zz", "a"]]', "="]),
             max_size=4).map("\n".join)))
def test_any_corrections_file_is_read_or_refused_in_one_line(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("c") / "corrections.toml"
    path.write_text(text, encoding="utf-8")
    try:
        read_corrections(path, {"a", "b"}, {"id0001": ["a"]})
    except InputError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    except AffcurateError as exc:
        pytest.fail(f"not an InputError with the file: {exc}")
