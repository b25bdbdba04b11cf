"""The documentation site's generated pages (docs/build_site.py; `make docs` builds the site
with MkDocs in strict mode, CI runs it)."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "docs" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("docs-src")
    return module, out, module.build_sources(out)


def test_every_env_has_a_page_in_the_navigation(site):
    import quadgym

    module, out, envs = site
    assert [title for title, _ in envs] == [*quadgym.list_envs(), *module.PETTINGZOO]
    for _, page in envs:
        assert (out / page).is_file()
    assert "envs/QuadTrack-v0.md" in module.mkdocs_config(envs)


def test_a_drone_page_shows_its_spaces_rule_and_typed_arguments(site):
    _, out, _ = site
    page = (out / "envs" / "QuadTrack-v0.md").read_text()
    assert "**RMS error < 0.10 m, no crash**" in page
    assert "![QuadTrack-v0 flown by the PID, seeds 1000 on](../img/tasks/QuadTrack-v0.gif)" in page
    assert (out / "img" / "tasks" / "QuadTrack-v0.gif").is_file()
    # before: the team tasks and visual reach had no animation (issue 34, friction 9)
    swap = (out / "envs" / "quad_swap_v0.md").read_text()
    assert "![quad_swap_v0 flown by the PID, seeds 1000 on](../img/tasks/quad_swap_v0.gif)" in swap
    reach = (out / "envs" / "QuadVisualReach-v0.md").read_text()
    assert "flown by the shipped pixel policy" in reach
    for name in ("quad_swarm_v0", "quad_swap_v0", "quad_reform_v0", "quad_leader_v0"):
        assert (out / "img" / "tasks" / f"{name}.gif").is_file(), name
    assert "- observation: `Box(float32, shape (34,))`" in page
    assert "| `trajectory` | `str` | `'circle'` |" in page  # the task's options
    assert "| `drone_model` |" in page  # the faces' arguments
    assert ":mod:" not in page and not re.search(r"(?<!`)``(?!`)", page)  # reST made Markdown


def test_links_outside_the_site_become_text(site):
    module, _, _ = site
    pages = {"copg.md"}
    text = "[a](docs/copg.md) [b](baselines/README.md) [c](https://x.org) ![i](img/p.png)"
    assert module.linked(text, Path(""), pages) == (
        "[a](copg.md) b (`baselines/README.md`) [c](https://x.org) ![i](img/p.png)"
    )
