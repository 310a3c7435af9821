"""Structure rules kept by tests, as the layer contract keeps the imports one-way.

* Size: every module under ``src/footreid`` is at most 350 lines, every function body at
  most 50 (the body counts from the docstring to the last line; the signature does not,
  since a typer command's parameters are its option declarations).
* Names: a CLI module ``cli/<group>_commands.py`` registers a command named ``<group>``
  or ``<group>-...``, so a command is found by its name.
* One owner: each reader and resolver below is called only in its owner modules, and a
  backend's name is branched on only in the backend registry (``embed/registry.py``). A new
  call elsewhere is a second reader or a second resolution; call the owner instead, or,
  when the new place is the right owner, move the call there and change the list here.

Calls are found in the syntax tree, so docstrings and comments that name them do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from footreid.cli.main import COMMAND_MODULES, app

SRC = Path(__file__).resolve().parents[2] / "src" / "footreid"
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 50

# name -> (what it reads or resolves, owner modules or packages relative to src/footreid)
OWNERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # MOT seqinfo.ini: the only INI files footreid reads.
    "configparser": ("MOT seqinfo.ini", ("track/mot.py",)),
    # .npz features files: FeatureSet.load checks their schema; nothing else opens them.
    "np.load": ("features files", ("core/records.py",)),
    # Checkpoints and weight files: one checkpoint reader (loading and resuming both call
    # it) and the reader of plain state dicts.
    "torch.load": ("checkpoints", ("models/checkpoint.py", "models/state_dict.py")),
    # A model's input contract (name, options, input size, mean/std, D) is read from a
    # file only through its record: checkpoints, ONNX metadata, model folders; features
    # files' meta too, where a reader needs it.
    "ModelRecord.from_record": (
        "the model record",
        ("models/checkpoint.py", "embed/onnx_runtime.py", "export/folder.py"),
    ),
    # Device and precision are resolved once where a run starts (training's setup, the
    # embedding plan); everything below takes the resolved torch.device / dtype name.
    "resolve_device": ("the device", ("core/hardware.py", "train/setup.py", "embed/plan.py")),
    "resolve_precision": (
        "the precision",
        ("core/hardware.py", "train/setup.py", "embed/plan.py"),
    ),
    # Training's objective and stage plan: built once from the config by check_run_config
    # (a TrainPlan), then passed down; a second build could disagree with the first.
    "build_objective": ("the objective", ("train/setup.py",)),
    "plan_stages": ("the stage plan", ("train/setup.py",)),
    # torch's global RNG: seeded at its points of use by train/setup.py's seed_torch, so
    # last.pt needs no RNG state (everything else draws from its own torch.Generator).
    "torch.manual_seed": ("the global torch RNG", ("train/setup.py",)),
    # last.pt's resume state: written and read back in one place (runner's _save and
    # _train_stage), so everything saved is restored.
    "resume_entries": ("last.pt's resume state", ("train/runner.py",)),
    "restore_resume_state": ("last.pt's resume state", ("train/runner.py",)),
    # The process group: joined where a run starts, left where fit ends.
    "init_distributed": ("joining the process group", ("train/setup.py",)),
    "shutdown_distributed": ("leaving the process group", ("train/runner.py",)),
    # Evaluation (issue 18 item 2). The bootstrap over actions is drawn in one place: the
    # CLI's intervals and the experiment's (seed-averaged) ones both call its owner.
    "resampled_metrics": ("bootstrap draws over actions", ("evaluate/intervals.py",)),
    # A centring mode is checked by centring itself; specs, the CLI and experiment
    # configs reach it through the post-step registry (parse_step), never on their own.
    "check_mode": ("a centring mode", ("evaluate/centring.py",)),
    # Post-steps (centring, query expansion, re-ranking) run where a method is computed
    # and where its members' distances are built for the weight search, nowhere else.
    "apply_stage": ("post-steps applied", ("evaluate/methods.py", "evaluate/evaluation.py")),
    # A spec's post-step values are parsed (one spelling of "off") when the spec is built.
    "parse_steps": ("post-step values of a spec", ("evaluate/methods.py",)),
}

# Branches on a backend's name (``if backend == "onnx"``) live in the backend registry
# only: everyone else asks the registry what a backend can do. A comparison is a branch
# when one side names a backend as a string and the other is a backend request (``backend``,
# ``requested``, ``name``, ``...options.backend``, ``...plan.backend``).
BACKEND_NAMES = frozenset({"torch", "onnx", "openvino", "openvino-int8", "auto"})
BACKEND_BRANCH_OWNERS: tuple[str, ...] = (
    "embed/registry.py",
    # the cache key's source kind ("onnx" for an .onnx file, by its suffix), not a request
    "experiment/cache.py",
)


def _modules() -> Iterator[tuple[str, ast.Module, str]]:
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        yield path.relative_to(SRC).as_posix(), ast.parse(text), text


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _uses(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Names of ``OWNERS`` used in ``tree``: calls (``np.load(...)``), imports of modules."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func).replace("numpy.", "np.", 1)
            for key in OWNERS:
                if name == key or ("." not in key and name.endswith(f".{key}")):
                    yield key, node.lineno
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "configparser" in names:
                yield "configparser", node.lineno


def _names_backend(node: ast.expr) -> bool:
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return any(isinstance(i, ast.Constant) and i.value in BACKEND_NAMES for i in items)


def _is_request(node: ast.expr) -> bool:
    name = _dotted(node)
    return name in ("backend", "requested", "name") or name.endswith(
        ("options.backend", "plan.backend")
    )


def _backend_branches(tree: ast.Module) -> Iterator[int]:
    """Lines of comparisons of a backend request with a backend's name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(_is_request, sides)) and any(map(_names_backend, sides)):
                yield node.lineno


def _owned_by(module: str, owners: tuple[str, ...]) -> bool:
    return any(module == o or (o.endswith("/") and module.startswith(o)) for o in owners)


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for module, tree, text in _modules():
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.body[0].lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "split these (limits 350 / 50 lines):\n" + "\n".join(too_long)


def test_the_size_rule_sees_the_whole_tree() -> None:
    modules = {module for module, _, _ in _modules()}
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert {"cli", "core", "embed", "track", "train", "serve"} <= packages
    assert {f"{p}/__init__.py" for p in packages} <= modules


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_one_owner(name: str) -> None:
    what, owners = OWNERS[name]
    strays = [
        f"{module}:{line}"
        for module, tree, _ in _modules()
        for key, line in _uses(tree)
        if key == name and not _owned_by(module, owners)
    ]
    assert not strays, f"{name} ({what}) outside {', '.join(owners)}: {', '.join(strays)}"


def test_each_owner_rule_finds_its_owner() -> None:
    """A rule that matches nothing (a renamed function) would pass forever: it must match."""
    found = {key for _, tree, _ in _modules() for key, _ in _uses(tree)}
    assert found == set(OWNERS)


def test_backend_names_are_branched_on_in_the_registry_only() -> None:
    strays = [
        f"{module}:{line}"
        for module, tree, _ in _modules()
        for line in _backend_branches(tree)
        if not _owned_by(module, BACKEND_BRANCH_OWNERS)
    ]
    assert not strays, "ask footreid.embed.registry instead: " + ", ".join(strays)


@pytest.mark.parametrize(
    "code",
    [
        'if options.backend == "auto": pass',
        'if requested == "torch" and kind == "onnx": pass',
        'if backend not in ("openvino-int8", "auto"): pass',
        'for name in names:\n    if name == "torch": pass',
    ],
)
def test_the_backend_rule_sees_a_branch(code: str) -> None:
    """The branches issue 18 removed would each be found (the rule is not dead)."""
    assert list(_backend_branches(ast.parse(code)))


def test_cli_modules_are_named_after_their_commands() -> None:
    registered = {}
    for command in app.registered_commands:
        registered[command.name] = command.callback.__module__.rsplit(".", 1)[-1]
    for module in COMMAND_MODULES:
        group = module.removesuffix("_commands").replace("_", "-")
        names = [name for name, owner in registered.items() if owner == module]
        assert any(n == group or n.startswith(f"{group}-") for n in names), (module, names)
