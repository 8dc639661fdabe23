"""The documentation only names things that exist, and ``docs/results/`` only holds what a page references.

Pages are README.md, CHANGELOG.md and docs/*.md. Everything is read from the files (Markdown, Python ASTs);
a module is imported only to look up a class member inherited from outside the project (rsl_rl's runner), so the
checks take seconds and need no Isaac Lab.

What a page may name, and how it is checked:

- a Markdown link ``[text](target)``: the target exists (relative to the page; URLs and anchors are skipped);
- a file path such as ``tests/ppo/test_core_details.py``, ``ppo/ppo37.py`` or ``docs/results/x.log``: a path
  whose first folder is one of the project's (a top-level folder, a subpackage of ``isaaclab_gr00t`` or a folder
  of ``tests``) exists under the repository, the package or ``tests/``; other paths (Isaac Lab's, rsl_rl's) are
  not the project's to check;
- a test node ``path.py::test_x`` (also ``::TestClass::test_x`` and a bare ``::test_y`` later on the same line,
  which refers to the same file): the file defines that test;
- a test name in backticks, ```test_x```, and a test file name ``test_x.py``: some test file defines it / exists;
- a code location ``path.py:Name.member``, ``isaaclab_gr00t.module:Name.member`` or a dotted
  ``isaaclab_gr00t.module.Name`` (as in ``python -m isaaclab_gr00t.bench.throughput``): the module exists and
  binds the name, and a class has the member (its own, a local base's or, imported, an outside base's).

README and docs/*.md also hold no development history (numbered work periods, machine letters, commit hashes):
that goes to CHANGELOG.md.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "isaaclab_gr00t"
RESULTS = ROOT / "docs" / "results"
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
TEST_DIRS = (ROOT / "tests", ROOT / "gpu_tests")
# Where a relative path in a page may live: the repository, the package (``ppo/ppo37.py``) or the tests
# (docs/ppo37.md's table gives test paths relative to ``tests/``).
PATH_ROOTS = (ROOT, ROOT / PACKAGE, ROOT / "tests")

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
EXTENSIONS = "py|md|yaml|yml|toml|cff|txt|log|png|json|jsonl|sh"
PATH = re.compile(rf"(?<![\w./~-])((?:[\w.-]+/)*[\w.-]+\.(?:{EXTENSIONS}))(?![\w/])")
PY_TARGET = re.compile(r"\.py((?:::\w+(?:\[[^\]\s]*\])?)+|:[A-Za-z_]\w*(?:\.\w+)*)")
NODE_CONTINUATION = re.compile(r"(?<![\w.])::(test_\w+)")
BACKTICKED_TEST = re.compile(r"`(test_\w+)`")
DOTTED = re.compile(rf"(?<![\w.]){PACKAGE}((?:\.\w+)*)(?::([A-Za-z_]\w*(?:\.\w+)*))?")
HISTORY = re.compile(
    r"\b[Ss]essions? \d|\b[Mm]achines? (?:[A-Z]|\d)\b|since reverted|\btargets? (?:met|missed)\b"
    r"|(?<![\w/.-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,12}(?![\w/.-])"  # a commit hash
)


def page_text(page: Path) -> str:
    # Markdown escapes underscores in tables (``PPO37.\_\_init\_\_``).
    return page.read_text(encoding="utf-8").replace("\\_", "_")


def prose(text: str) -> str:
    """The page without fenced code blocks (where ``[a](b)`` is not a link and ``--out`` names an output)."""
    return FENCE.sub("", text)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@functools.cache
def project_folders() -> frozenset[str]:
    names = set()
    for base in PATH_ROOTS:
        names |= {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    return frozenset(names)


def resolve_project_path(path: str) -> Path | None | bool:
    """The existing file for ``path``; ``None`` when it is the project's and missing; ``False`` when not ours."""
    parts = Path(path).parts
    if len(parts) < 2 or parts[0] not in project_folders():
        return False
    for base in PATH_ROOTS:
        if (base / path).exists():
            return base / path
    return None


@functools.cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@functools.cache
def all_test_files() -> tuple[Path, ...]:
    return tuple(p for d in TEST_DIRS for p in sorted(d.rglob("test_*.py")))


def defined_tests(path: Path, class_name: str | None = None) -> set[str]:
    body = parse(path).body
    if class_name is not None:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == class_name]
        body = classes[0].body if classes else []
    return {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


@functools.cache
def all_test_names() -> frozenset[str]:
    names = set()
    for path in all_test_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return frozenset(names)


def module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def binding(path: Path, name: str):
    """What binds ``name`` at the top level of ``path``: a def/class node, ``(module, name)`` of an import, or
    ``True`` for an assignment or an ``__all__`` entry (a lazy ``__getattr__`` export)."""
    tree = parse(path)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    if node.level:
                        package = module_name(path).split(".")
                        package = package if path.name == "__init__.py" else package[:-1]
                        package = package[: len(package) - node.level + 1]
                        source = ".".join(package + ([node.module] if node.module else []))
                    else:
                        source = node.module or ""
                    return (source, alias.name)
        if isinstance(node, ast.Import):
            if any((alias.asname or alias.name).split(".")[0] == name for alias in node.names):
                return True
    exported = [n for n in tree.body if isinstance(n, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
    if exported and name in ast.literal_eval(exported[0].value):
        return True
    return None


def class_members(node: ast.ClassDef) -> set[str]:
    members = set()
    for item in ast.walk(node):
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and item is not node:
            members.add(item.name)
        elif isinstance(item, ast.Assign):
            for target in item.targets:
                members |= {t.id for t in ast.walk(target) if isinstance(t, ast.Name)}
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    members.add(target.attr)  # self.x = ... in a method
        elif isinstance(item, ast.AnnAssign):
            if isinstance(item.target, ast.Name):
                members.add(item.target.id)
            elif isinstance(item.target, ast.Attribute):
                members.add(item.target.attr)
    return members


def check_symbol(path: Path, chain: list[str], depth: int = 0) -> str | None:
    """None when ``chain`` (``Name``, ``Name.member``...) exists in module ``path``, else why not."""
    found = binding(path, chain[0])
    if found is None:
        return f"{rel(path)} defines no {chain[0]!r}"
    if isinstance(found, tuple):
        source, name = found
        if not source.startswith(PACKAGE) or depth > 5:
            return None  # an import from outside the project: not ours to check
        target = module_file(source)
        if target is None:
            sub = module_file(f"{source}.{name}")
            return None if sub is not None else f"{rel(path)} imports {name!r} from missing {source}"
        return check_symbol(target, [name, *chain[1:]], depth + 1)
    if len(chain) == 1:
        return None
    if not isinstance(found, ast.ClassDef):
        return None  # members of functions and assigned values are not checked
    if chain[1] in class_members(found):
        return None
    local_bases = [
        b.id for b in found.bases if isinstance(b, ast.Name) and isinstance(binding(path, b.id), ast.ClassDef)
    ]
    if any(check_symbol(path, [base, chain[1]], depth + 1) is None for base in local_bases):
        return None
    if len(local_bases) < len(found.bases):
        # A base from another module (rsl_rl's OnPolicyRunner...) may define it: ask the imported class, the only
        # case that imports anything.
        cls = getattr(importlib.import_module(module_name(path)), chain[0])
        if hasattr(cls, chain[1]):
            return None
    return f"class {chain[0]} in {rel(path)} has no member {chain[1]!r}"


@functools.cache
def code_strings() -> frozenset[str]:
    """String constants of the package (entry-point group names look like module names but are not)."""
    strings = set()
    for path in [*(ROOT / PACKAGE).rglob("*.py"), ROOT / "setup.py"]:
        strings |= {n.value for n in ast.walk(parse(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return frozenset(strings)


def check_dotted(dotted: str, symbol: str | None) -> str | None:
    """``isaaclab_gr00t.a.b`` (module or module + attributes) or ``isaaclab_gr00t.a.b:Name.member``."""
    parts = dotted.split(".")
    if symbol is not None:
        path = module_file(dotted)
        return f"no module {dotted}" if path is None else check_symbol(path, symbol.split("."))
    for cut in range(len(parts), 0, -1):
        path = module_file(".".join(parts[:cut]))
        if path is not None:
            if cut == len(parts):
                return None
            problem = check_symbol(path, parts[cut:])
            if problem is None or dotted in code_strings():
                return None
            return f"{dotted}: {problem}"
    return f"no module {dotted}"


def references(page: Path) -> list[tuple[int, str, str | None]]:
    """``(line, reference, problem)`` for every checked reference of ``page``; problem is None when fine."""
    found = []
    in_fence = False
    for number, line in enumerate(page_text(page).splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        line = URL.sub("", line)
        last_file: Path | None = None
        for match in PATH.finditer(line):
            path = match.group(1)
            after = PY_TARGET.match(line, match.end(1) - 3) if path.endswith(".py") else None
            if "/" not in path:
                if path.startswith("test_") and path.endswith(".py"):
                    ok = any(p.name == path for p in all_test_files())
                    found.append((number, path, None if ok else "no test file of that name"))
                continue
            resolved = resolve_project_path(path)
            if resolved is False or (resolved is None and in_fence and not path.endswith(".py")):
                continue  # not the project's, or an output a command in a code block will write
            if resolved is None:
                found.append((number, path, "no such file"))
                continue
            if after is None:
                found.append((number, path, None))
                continue
            target = after.group(1)
            if target.startswith("::"):
                last_file = resolved
                nodes = [n.split("[")[0] for n in target.split("::")[1:]]
                cls, test = (nodes[0], nodes[-1]) if len(nodes) > 1 else (None, nodes[0])
                ok = test in defined_tests(resolved, cls)
                found.append((number, f"{path}{target}", None if ok else f"{rel(resolved)} defines no {test}"))
            else:
                found.append((number, f"{path}{target}", check_symbol(resolved, target[1:].split("."))))
        for match in NODE_CONTINUATION.finditer(line):
            if last_file is not None and not line[: match.start()].endswith(".py"):
                test = match.group(1)
                ok = test in defined_tests(last_file)
                found.append((number, f"::{test}", None if ok else f"{rel(last_file)} defines no {test}"))
        for match in BACKTICKED_TEST.finditer(line):
            ok = match.group(1) in all_test_names()
            found.append((number, match.group(1), None if ok else "no test of that name in tests/ or gpu_tests/"))
        for match in DOTTED.finditer(line):
            if match.group(1):
                reference = PACKAGE + match.group(1) + (f":{match.group(2)}" if match.group(2) else "")
                found.append((number, reference, check_dotted(PACKAGE + match.group(1), match.group(2))))
    return found


def link_targets(page: Path) -> list[str]:
    body = prose(page.read_text(encoding="utf-8"))
    return LINK.findall(body) + REF_LINK.findall(body)


def local_target(page: Path, target: str) -> Path | None:
    """The file or folder a link points to, or None for URLs, mail and same-page anchors."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
        return None
    return (page.parent / target.split("#")[0]).resolve()


def test_every_page_exists_and_is_read():
    assert (ROOT / "README.md").is_file() and (ROOT / "CHANGELOG.md").is_file()
    assert len(PAGES) >= 3, PAGES


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_links_point_to_existing_files(page):
    broken = [t for t in link_targets(page) if (p := local_target(page, t)) is not None and not p.exists()]
    assert not broken, f"{rel(page)} links to missing files: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_named_tests_and_code_exist(page):
    broken = [f"line {n}: {ref}: {why}" for n, ref, why in references(page) if why is not None]
    assert not broken, f"{rel(page)} names things that do not exist:\n" + "\n".join(broken)


def test_every_result_file_is_referenced_by_a_page():
    referenced: set[Path] = set()
    for page in PAGES:
        for target in link_targets(page):
            path = local_target(page, target)
            if path is not None:
                referenced.add(path)
        # A path written out in full (``docs/results/x.log``) is a reference a reader can follow too.
        referenced |= {(ROOT / m).resolve() for m in re.findall(r"docs/results/[\w./-]*[\w/]", page_text(page))}
    referenced.discard(RESULTS.resolve())  # a link to the whole folder vouches for no file in it
    files = [p for p in RESULTS.rglob("*") if p.is_file()]
    orphans = [rel(p) for p in files if not any(p == r or r in p.parents for r in referenced)]
    assert not orphans, "files under docs/results/ that no page references (delete or link them): " + ", ".join(orphans)


def test_readme_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ("bash scripts/setup.sh", ".venv/bin/python -m pytest"):
        assert command in readme and command in ci, command


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "CHANGELOG.md"], ids=rel)
def test_pages_hold_no_development_history(page):
    """README and docs describe the product as it is; history (work periods, machines, commits) is CHANGELOG's."""
    lines = [f"line {n}: {line.strip()}" for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if HISTORY.search(line)]
    assert not lines, f"{rel(page)} holds development history:\n" + "\n".join(lines)


def test_the_checks_catch_what_is_missing(tmp_path):
    """Each kind of reference, once broken, is reported, and its working twin is not."""
    page = tmp_path / "page.md"
    good = [
        "tests/ppo/test_core_details.py::test_gae_matches_hand_computation, ::test_entropy_bonus_widens_the_policy",
        "ppo/ppo37.py:PPO37.update",
        "isaaclab_gr00t/runner/ppo37_runner.py:PPO37Runner.learn",
        "`isaaclab_gr00t.ppo:PPO37`",
        "python -m isaaclab_gr00t.bench.throughput",
        "`test_gae_matches_hand_computation`",
    ]
    bad = [
        "ppo/test_core_details.py::test_adam_eps_and_foreach_on_cpu",
        "tests/ppo/test_core_details.py::test_gae_matches_hand_computation, ::test_no_such_detail",
        "ppo/ppo37.py:PPO37.no_such_method",
        "isaaclab_gr00t/runner/ppo37_runner.py:PPO37Runner.no_such_method",
        "`isaaclab_gr00t.ppo:NoSuchAlgorithm`",
        "python -m isaaclab_gr00t.bench.no_such_benchmark",
        "`test_no_such_test_anywhere`",
        "isaaclab_gr00t/no_such_module.py",
        "`test_no_such_file.py`",
    ]
    assert HISTORY.search("measured at commit 0ec3e09 on machine B in session 7")
    assert not HISTORY.search("--steps 1000000, docs/results/gpu_tests_h200_0ec3e09.log, Isaac Lab 3.0.0")
    page.write_text("\n".join(good + bad) + "\n[a link](no_such_file.md) and [another](page.md)\n")
    problems = {n for n, _, why in references(page) if why is not None}
    assert problems == set(range(len(good) + 1, len(good) + len(bad) + 1)), references(page)
    assert [t for t in link_targets(page) if not local_target(page, t).exists()] == ["no_such_file.md"]
