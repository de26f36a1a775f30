"""The command line contract: outputs, exit codes, and errors without tracebacks."""

from __future__ import annotations

import gc
import json
import os
import signal
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, run_process

import shipspec
from shipspec import render
from shipspec.cli.main import VERBS, main
from shipspec.render import Rendered
from shipspec.specfile.schema import SPEC_SCHEMA

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def test_validate_prints_a_one_line_summary(cli) -> None:
    result = cli("validate", str(EXAMPLES / "astrago"))
    assert result.code == 0
    assert result.out == (
        f"{EXAMPLES / 'astrago' / 'shipspec.yaml'}: valid: 4 modules (4 enabled), "
        "environments: stage\n")


def test_validate_accepts_the_spec_file_itself(cli) -> None:
    result = cli("validate", str(EXAMPLES / "gointern-backend" / "shipspec.yaml"))
    assert result.code == 0
    assert result.out.endswith(": valid: 4 modules (3 enabled), environments: dev\n")


def test_validate_reports_errors_on_stderr_with_exit_1(cli, repo: Path) -> None:
    (repo / "shipspec.yaml").write_text("project: x\nregistry: {url: r}\nmodules: {a: {imag: b}}\n")
    result = cli("validate", str(repo))
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        f"{repo / 'shipspec.yaml'}:3:15: error: modules.a.imag: unknown field 'imag'\n"
        "  hint: did you mean 'image'?\n")


def test_schema_is_a_valid_draft_7_schema_stamped_with_the_version(cli) -> None:
    import jsonschema

    result = cli("schema")
    schema = json.loads(result.out)
    assert schema == SPEC_SCHEMA
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$comment"] == f"shipspec {shipspec.__version__}"


def test_schema_validates_the_examples_with_a_real_json_schema_validator() -> None:
    import jsonschema
    import yaml

    for name in ("astrago", "gointern-backend"):
        document = yaml.safe_load((EXAMPLES / name / "shipspec.yaml").read_text())
        jsonschema.Draft7Validator(SPEC_SCHEMA).validate(document)


def test_tag_renders_the_environment_template(cli) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", SHA)
    assert (result.code, result.out) == (0, "core-stage-a1b2c3d4\n")
    frontend = cli("tag", str(EXAMPLES / "astrago"), "--module", "frontend", "--sha", SHA,
                   "--env", "stage")
    assert frontend.out == "frontend-stage-a1b2c3d4\n"


def test_tag_writes_a_tekton_result_file(cli, tmp_path: Path) -> None:
    result_file = tmp_path / "results" / "tag"
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "batch", "--sha", SHA,
                 "--output", str(result_file))
    assert (result.code, result.out) == (0, "")
    assert result_file.read_text() == "batch-stage-a1b2c3d4"  # a result has no newline


@pytest.mark.parametrize(("changed", "touched"), [
    (b"server-core/src/Core.java\0docs/a.md\0", "true"),
    (b"server-batch/src/Batch.java\0", "false"),
    (b"", "false"),
    (None, "true"),  # no list: the changes are not known
], ids=["in its paths", "elsewhere", "nothing", "unknown"])
def test_tag_writes_whether_a_pull_requests_files_touch_the_module(
        cli, tmp_path: Path, changed: bytes | None, touched: str) -> None:
    """Tekton's pull request runs build a module only where its files touch its paths."""
    listed = tmp_path / "changes"
    if changed is not None:
        listed.write_bytes(changed)
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", SHA,
                 "--output", str(tmp_path / "tag"), "--changed-files", str(listed),
                 "--touched-output", str(tmp_path / "touched"))
    assert (result.code, result.out, result.err) == (0, "", "")
    assert (tmp_path / "touched").read_text() == touched
    assert (tmp_path / "tag").read_text() == "core-stage-a1b2c3d4"


def test_tag_takes_the_changed_files_and_their_result_together(cli, tmp_path: Path) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", SHA,
                 "--touched-output", str(tmp_path / "touched"))
    assert (result.code, result.out) == (1, "")
    assert result.err == ("error: --changed-files and --touched-output go together\n"
                          "  hint: give both, or neither\n")
    assert not (tmp_path / "touched").exists()

def test_tag_refuses_a_sha_that_is_not_hex(cli) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", "main;rm -rf /")
    assert result.code == 1
    assert result.err == (
        "error: 'main;rm -rf /' is not a commit SHA: 7 to 64 hexadecimal digits\n"
        "  hint: give the commit id, e.g. from git rev-parse HEAD\n")


def test_tag_names_the_modules_when_one_is_unknown(cli) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "cor", "--sha", SHA)
    assert result.code == 1
    assert result.err.endswith("error: no module named 'cor' in "
                               f"{EXAMPLES / 'astrago' / 'shipspec.yaml'}\n"
                               "  hint: modules: core, batch, monitor, frontend\n")


def test_tag_for_an_environment_the_module_does_not_deploy_to(cli) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", SHA,
                 "--env", "prod")
    assert result.code == 1
    assert result.err == "error: module 'core' is deployed to stage, not to 'prod'\n"


def test_bad_flag_is_a_user_error(cli) -> None:
    result = cli("generate", "--target", "helm")
    assert result.code == 1
    assert result.out == ""
    assert "error: argument --target: invalid choice: 'helm'" in result.err
    assert "hint: see 'shipspec generate --help'" in result.err


def test_every_target_of_the_command_line_has_a_renderer() -> None:
    from shipspec.cli.generate import TARGETS

    # helmfile runs the real helmfile (helmfile.py) instead of a renderer
    assert set(TARGETS) == {*render.RENDERERS, "helmfile"}


@pytest.fixture
def fake_renderer(monkeypatch: pytest.MonkeyPatch):
    """Register a renderer for the generate command's own behaviour (output, formats)."""
    module = types.ModuleType("shipspec_test_renderer")

    def render_spec(spec, options):
        names = options.modules or tuple(m.name for m in spec.enabled_modules)
        return [Rendered(f"{name}.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": name},
                                          "data": {"version": "0012"}})
                for name in names]

    module.render = render_spec  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shipspec_test_renderer", module)
    monkeypatch.setitem(render.RENDERERS, "values", "shipspec_test_renderer")


# A spec whose rendering goes through sets of strings, whose order Python's string hashing
# changes from process to process: a deployment repository that is the source repository
# (the files each push filter leaves out), targets of every kind, two environments.
_MANY_SETS = """\
project: shop
namespace: shop-ci
source: {url: https://github.com/acme/shop.git, webhookSecret: hook}
registry: {url: ghcr.io/acme, pushSecret: push}
deploy: {url: https://github.com/Acme/shop, credentialsSecret: deploy}
ci: {images: {shipspec: 'ghcr.io/acme/shipspec:1@sha256:%s'}}
environments:
  dev:
    branch: main
    deployBranch: dev
    values: deploy/dev.yaml
    app: {helmfile: helmfile.yaml, releases: {shop: {namespace: shop, modules: [api, cron]}}}
  prod: {branch: release, values: deploy/prod.yaml}
modules:
  api: {dockerfile: api/Dockerfile, values: shop.api}
  web: {paths: [web/, deploy/], manifest: {file: deploy/web.yaml, name: web},
        environments: [dev]}
  job: {paths: [job/, libs/], kustomize: {branch: dev, directory: deploy/overlays/dev}}
  cron: {paths: [cron/, libs/], values: shop.cron}
""" % ("0" * 64)
# and one with several problems that take two modules or environments to see
_MANY_PROBLEMS = _MANY_SETS.replace("environments: [dev]}", "environments: [dev, qa]}").replace(
    "values: shop.cron", "values: shop.api")


@pytest.mark.parametrize(("spec", "verb"), [
    *((_MANY_SETS, ["generate", "--target", target])
      for target in ("tekton", "github-actions", "values", "applications")),
    (_MANY_PROBLEMS, ["validate"]),
])
def test_output_is_the_same_whatever_the_string_hashing(repo: Path, spec: str,
                                                        verb: list[str]) -> None:
    """The same bytes from processes that hash strings differently (PYTHONHASHSEED), so
    that no set's order reaches the output, or the order of a spec's errors."""
    (repo / "shipspec.yaml").write_text(spec)
    runs = set()
    for seed in (1, 2, 3):
        result = run_process(*verb, str(repo), env={**os.environ, "PYTHONHASHSEED": str(seed)})
        runs.add((result.code, result.out, result.err))
    assert len(runs) == 1
    [(code, _, err)] = runs
    assert code == (1 if spec is _MANY_PROBLEMS else 0), err
    assert err.count("error: ") >= (2 if spec is _MANY_PROBLEMS else 0)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "euc-kr"])
def test_output_is_utf_8_whatever_the_locale(repo: Path, encoding: str) -> None:
    """YAML and JSON for other programs are UTF-8 (YAML 1.2 5.2, RFC 8259 8.1), but stdout
    took the locale's encoding: under a legacy one (PYTHONIOENCODING stands in for a
    `ko_KR.EUC-KR` or `en_US.ISO-8859-1` locale) a module path in Korean, or a character
    the locale lacks, ended `generate` with a traceback."""
    (repo / "shipspec.yaml").write_text(_MANY_SETS.replace("paths: [job/, libs/]",
                                                           "paths: [작업/, libs/, ✓/]"))
    utf_8 = run_process("generate", str(repo))
    assert utf_8.code == 0, utf_8.err
    completed = subprocess.run([sys.executable, "-m", "shipspec", "generate", str(repo)],
                               env={**os.environ, "PYTHONIOENCODING": encoding},
                               capture_output=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode("utf-8") == utf_8.out and "작업/" in utf_8.out


def test_generate_writes_one_yaml_stream(cli, fake_renderer) -> None:
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--target", "values",
                 "--module", "aify")
    assert result.code == 0
    assert result.out == ("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aify\n"
                          "data:\n  version: '0012'\n")


def test_generate_json_is_a_list(cli, fake_renderer) -> None:
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--target", "values",
                 "--format", "json")
    assert [item["metadata"]["name"] for item in json.loads(result.out)["items"]] == [
        "system", "portal", "aify"]


def test_generate_output_dir_writes_files(cli, fake_renderer, tmp_path: Path) -> None:
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--target", "values",
                 "--output-dir", str(tmp_path / "out"))
    assert result.code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "aify.yaml", "portal.yaml", "system.yaml"]
    assert result.out == "".join(f"wrote {tmp_path / 'out' / n}.yaml\n"
                                 for n in ("system", "portal", "aify"))


@pytest.fixture
def umask():
    """Set the process's umask for one test: the files shipspec makes must follow it."""
    earlier = os.umask(0o022)

    def set_to(mask: int) -> None:
        os.umask(mask)

    yield set_to
    os.umask(earlier)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_written_get_the_permissions_the_umask_gives(cli, umask, tmp_path: Path,
                                                           mask: int, mode: int) -> None:
    umask(mask)
    out = tmp_path / "out"
    assert cli("generate", str(EXAMPLES / "gointern-backend"), "--output-dir",
               str(out)).code == 0
    assert cli("generate", str(EXAMPLES / "astrago"), "--target", "values",
               "--output-dir", str(tmp_path / "values")).code == 0
    assert cli("tag", str(EXAMPLES / "gointern-backend"), "--module", "system", "--sha",
               "0123456789abcdef0123456789abcdef01234567", "--output",
               str(tmp_path / "tag")).code == 0
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert out / ".shipspec-output" in written and tmp_path / "tag" in written
    assert len(written) > 10
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {
        path.name: mode for path in written}


@pytest.mark.parametrize("mode", [0o664, 0o755, 0o600])
def test_a_file_rewritten_keeps_its_permissions(cli, umask, tmp_path: Path, mode: int) -> None:
    umask(0o022)
    values = tmp_path / "values.yaml"
    values.write_text("global: {}\n")
    values.chmod(mode)
    result = cli("values", str(EXAMPLES / "astrago"), "--env", "stage", "--write", str(values))
    assert result.code == 0, result.err
    assert values.read_text() != "global: {}\n"
    assert stat.S_IMODE(values.stat().st_mode) == mode
    assert [path.name for path in tmp_path.iterdir()] == ["values.yaml"]  # no file left over


def test_ctrl_c_while_a_file_is_written_leaves_the_file_as_it_was(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new text goes to a file beside the old one, renamed over it at the end: an
    interruption before the rename leaves the old file and no stray `.shipspec-*` beside
    it in the user's repository."""
    values = tmp_path / "values.yaml"
    values.write_text("global: {}\n")

    def interrupted(source: str, target: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    result = cli("values", str(EXAMPLES / "astrago"), "--env", "stage", "--write", str(values))
    assert (result.code, result.err) == (130, "shipspec: interrupted\n")
    assert [path.name for path in tmp_path.iterdir()] == ["values.yaml"]
    assert values.read_text() == "global: {}\n"


def test_generate_refuses_a_disabled_module(cli, fake_renderer) -> None:
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--target", "values",
                 "--module", "new-module")
    assert (result.code, result.out) == (1, "")
    assert result.err == ("error: module 'new-module' is disabled (enabled: false)\n"
                          "  hint: enable it in the spec first\n")


def test_generate_refuses_an_unknown_environment(cli, fake_renderer) -> None:
    result = cli("generate", str(EXAMPLES / "astrago"), "--target", "values", "--env", "prod")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: no environment named 'prod' in ")


def test_generate_with_nothing_to_render_fails_instead_of_printing_nothing(
        cli, fake_renderer, repo: Path) -> None:
    (repo / "shipspec.yaml").write_text(
        "project: x\nregistry: {url: r}\nci: {engine: github-actions}\n"
        "modules: {a: {enabled: false, repo: 'https://github.com/o/a.git'}}\n")
    result = cli("generate", str(repo), "--target", "values")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: the target 'values' renders nothing for {repo / 'shipspec.yaml'}\n"
        "  hint: enable a module, or check the environment and modules asked for; "
        "argocd.allowEmpty: true makes an empty render (and Argo CD's prune) intended\n")


def test_errors_never_show_a_traceback_in_a_real_process(repo: Path) -> None:
    (repo / "shipspec.yaml").write_text("project: [\n")
    result = run_process("validate", str(repo))
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.startswith(f"{repo / 'shipspec.yaml'}:1:11: error: invalid YAML:")


def test_debug_shows_the_traceback(repo: Path) -> None:
    (repo / "shipspec.yaml").write_text("project: [\n")
    result = run_process("validate", str(repo), "--debug")
    assert result.code == 1
    assert "Traceback" in result.err


def _generate_into(stdout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipspec", "generate",
                           str(EXAMPLES / "gointern-backend")],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, check=False)


def test_a_reader_that_stops_reading_ends_the_output_quietly() -> None:
    """`shipspec generate | head`: the pipe is closed before the output is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = _generate_into(write_end)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_output_that_cannot_be_written_is_a_runtime_failure() -> None:
    with open("/dev/full", "w") as full:
        result = _generate_into(full.fileno())
    assert result.returncode == 2
    assert result.stderr == "shipspec: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_a_runtime_failure() -> None:
    """`shipspec generate >&-`: Python starts with no sys.stdout at all."""
    result = subprocess.run([sys.executable, "-m", "shipspec", "generate",
                             str(EXAMPLES / "gointern-backend")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            check=False, preexec_fn=lambda: os.close(1))
    assert result.returncode == 2
    assert result.stderr == "shipspec: cannot write the output: standard output is closed\n"


def test_console_script_and_module_agree() -> None:
    assert run_process("--version").out == "shipspec 0.1.0\n"


def _after_a_command(argv: list[str], code: str) -> list[str]:
    """The lines `code` prints in a fresh Python in which `shipspec ARGV` succeeded."""
    import subprocess

    program = ("import io, sys, contextlib\n"
               "from shipspec.cli.main import main\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    assert main({argv!r}) == 0\n"
               f"{code}")
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def _modules_imported_by(*argv: str) -> set[str]:
    """The modules a fresh Python has imported after `shipspec ARGV` succeeded in it."""
    return set(_after_a_command(list(argv), "print('\\n'.join(sys.modules))\n"))


def test_generate_never_imports_gitpython_or_jinja2() -> None:
    """Argo CD runs generate on every refresh: the heavy libraries stay off its path."""
    imported = _modules_imported_by("generate", str(EXAMPLES / "gointern-backend"))
    assert not imported & {"git", "jinja2", "ruamel"}


def test_a_github_actions_spec_is_checked_without_the_tekton_renderer() -> None:
    """Every verb loads the spec with the Tekton binding-value check (any spec may be
    rendered for Tekton), which must not cost a GitHub Actions team's bumps the import
    of the Tekton renderer's modules (4 M instructions)."""
    imported = _modules_imported_by("validate", str(EXAMPLES / "astrago"))
    assert {m for m in imported if m.startswith("shipspec.render.")} == {
        "shipspec.render.github_actions"}


def test_records_declare_their_fields_with_evaluated_types() -> None:
    """typing.NamedTuple compiles each field annotation that is a string (a module with
    `from __future__ import annotations`), and the first compile() of a process builds the
    AST module's types: 7.8 M instructions, paid by every command before it did anything.
    Every record of every module keeps its field types evaluated."""
    import importlib
    import pkgutil
    import typing

    import shipspec

    for info in pkgutil.walk_packages(shipspec.__path__, "shipspec."):
        if info.name != "shipspec.__main__":  # which would run the command line
            importlib.import_module(info.name)
    records = {cls for module in list(sys.modules.values())
               if module and module.__name__.startswith("shipspec")
               for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")
               and cls.__module__ == module.__name__}
    assert len(records) > 40
    compiled = sorted(f"{cls.__module__}.{cls.__name__}.{field}" for cls in records
                      for field, kind in cls.__annotations__.items()
                      if isinstance(kind, typing.ForwardRef | str))
    assert compiled == []


def test_pyyaml_patterns_are_compiled_when_first_used() -> None:
    """Importing PyYAML compiles its pure-Python reader's pattern of non-printable
    characters, 57 M instructions that libyaml's parser never needs (shipspec/pyyaml.py).
    A command, in a fresh Python, leaves it uncompiled; the pure-Python loader, when used
    after it, still refuses what that pattern finds and resolves what the others do;
    `re.compile` is the standard one again; and while PyYAML was imported, a pattern
    compiled by any other module (another thread's) was a real one."""
    code = ("import re, yaml\n"
            "print(yaml.reader.Reader.NON_PRINTABLE._compiled is None)\n"
            "try:\n"
            "    yaml.safe_load('key: \\x07')\n"
            "except yaml.reader.ReaderError as err:\n"
            "    print(str(err).splitlines()[0])\n"
            "print(yaml.safe_load('a: [1, 2.5, yes, ~, 2001-12-14, 0o17, 012]'))\n"
            "print(isinstance(re.compile('x'), re.Pattern))\n"
            "from shipspec.pyyaml import _compile_for_pyyaml\n"  # as another thread would
            "print(isinstance(_compile_for_pyyaml('x'), re.Pattern))\n")
    printed = _after_a_command(["generate", str(EXAMPLES / "gointern-backend")], code)
    assert printed == [
        "True",
        "unacceptable character #x0007: special characters are not allowed",
        "{'a': [1, 2.5, True, None, datetime.date(2001, 12, 14), '0o17', 10]}",
        "True",
        "True",
    ]


def test_output_dir_removes_only_the_files_an_earlier_run_wrote(cli, example_copy,
                                                               tmp_path: Path) -> None:
    directory = example_copy("astrago")
    out = tmp_path / "out"
    assert cli("generate", str(directory), "--output-dir", str(out)).code == 0
    (out / "mine.yaml").write_text("kept: true\n")  # not shipspec's
    batch_trigger = out / "trigger-astrago-batch-stage-push.yaml"
    assert batch_trigger.exists()
    spec = directory / "shipspec.yaml"
    text = spec.read_text()
    narrowed = cli("generate", str(directory), "--output-dir", str(out), "--module", "core")
    assert narrowed.code == 0 and "removed" not in narrowed.out and batch_trigger.exists()
    spec.write_text(text.replace("  batch:\n", "  batch:\n    enabled: false\n", 1))
    result = cli("generate", str(directory), "--output-dir", str(out))
    assert result.code == 0, result.err
    assert f"removed {batch_trigger}: no longer rendered\n" in result.out
    assert not batch_trigger.exists() and (out / "mine.yaml").exists()
    # kubectl apply -f would leave batch's Triggers building and deploying it
    assert "objects of the files removed are still in the cluster" in result.err
    assert "--prune" in result.err and "still in the cluster" not in narrowed.err
    assert not [p for p in out.iterdir() if "batch" in p.name]


def generate_with_small_files(*args: str) -> subprocess.CompletedProcess[str]:
    """`shipspec generate` in a process that may write no file over 8 KiB (RLIMIT_FSIZE):
    a write past it fails, as on a full disk (EFBIG for ENOSPC; Python ignores SIGXFSZ),
    for gointern-backend at its build Task's file, after ten smaller ones."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    return subprocess.run([sys.executable, "-m", "shipspec", "generate", *args],
                          capture_output=True, text=True, check=False, preexec_fn=limit)


def everything_below(directory: Path) -> dict[str, bytes | None]:
    return {str(path.relative_to(directory)): path.read_bytes() if path.is_file() else None
            for path in sorted(directory.rglob("*"))}


def test_output_dir_is_written_whole_or_not_at_all(example_copy, tmp_path: Path) -> None:
    directory = example_copy("gointern-backend")
    fresh = tmp_path / "fresh" / "ci"
    failed = generate_with_small_files(str(directory), "--output-dir", str(fresh))
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr == (f"error: cannot write {fresh}/task-gointern-backend-build.yaml: "
                             "File too large\n")
    assert not fresh.parent.exists()  # not even the directories made for it
    out = tmp_path / "out"
    assert run_process("generate", str(directory), "--output-dir", str(out)).code == 0
    before = everything_below(out)
    spec = directory / "shipspec.yaml"  # every file changes: the objects' namespace
    spec.write_text(spec.read_text().replace("\nnamespace: ", "\nnamespace: other-", 1))
    failed = generate_with_small_files(str(directory), "--output-dir", str(out))
    assert failed.returncode == 2 and "error: cannot write" in failed.stderr
    assert everything_below(out) == before  # as the earlier run left it: no file new, none stray


def _render_batch_then_disable_it(cli, example_copy, out: Path) -> tuple[Path, Path]:
    """A full run into `out`, then the spec without the module batch: its objects are no
    longer rendered. Returns the spec's directory and batch's push Trigger file."""
    directory = example_copy("astrago")
    assert cli("generate", str(directory), "--output-dir", str(out)).code == 0
    spec = directory / "shipspec.yaml"
    spec.write_text(spec.read_text().replace("  batch:\n", "  batch:\n    enabled: false\n", 1))
    return directory, out / "trigger-astrago-batch-stage-push.yaml"


def test_the_output_list_holds_each_files_checksum_as_sha256sum_writes_it(
        cli, example_copy, tmp_path: Path) -> None:
    out = tmp_path / "out"
    directory, batch_trigger = _render_batch_then_disable_it(cli, example_copy, out)
    assert cli("generate", str(directory), "--output-dir", str(out)).code == 0
    assert not batch_trigger.exists()
    listed = (out / ".shipspec-output").read_text().splitlines()
    assert len(listed) == len([p for p in out.iterdir() if p.name != ".shipspec-output"])
    checked = subprocess.run(["sha256sum", "--check", "--strict", ".shipspec-output"],
                             check=False, cwd=out, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("listing", ["changed", "forged checksum", "no checksum"])
def test_a_file_no_longer_rendered_is_removed_only_when_as_shipspec_wrote_it(
        cli, example_copy, tmp_path: Path, listing: str) -> None:
    out = tmp_path / "out"
    directory, batch_trigger = _render_batch_then_disable_it(cli, example_copy, out)
    manifest = out / ".shipspec-output"
    mine = out / "mine.yaml"  # the user's own file, which the list is made to name
    mine.write_text("kept: true\n")
    if listing == "changed":  # edited by hand after shipspec wrote it
        batch_trigger.write_text(batch_trigger.read_text() + "# tuned by hand\n")
        victim = batch_trigger
    elif listing == "forged checksum":
        manifest.write_text(manifest.read_text() + f"{'0' * 64}  mine.yaml\n")
        victim = mine
    else:  # a line of a path alone, as shipspec 0.1.0 wrote every line
        manifest.write_text(manifest.read_text() + "mine.yaml\n")
        victim = mine
    result = cli("generate", str(directory), "--output-dir", str(out))
    assert result.code == 0, result.err
    assert victim.exists() and f"removed {victim}" not in result.out
    assert f"note: kept {victim}: no longer rendered, but " in result.err
    # the other files of batch were as shipspec wrote them
    assert (f"removed {out / 'trigger-astrago-batch-stage-pr.yaml'}: no longer rendered\n"
            in result.out)
    # the kept file is the user's now: not listed, never noted again
    assert f"  {victim.name}\n" not in manifest.read_text()
    again = cli("generate", str(directory), "--output-dir", str(out))
    assert again.code == 0 and "kept" not in again.err and victim.exists()


def test_an_unreadable_output_list_is_refused_before_any_file_is_written(
        cli, example_copy, tmp_path: Path) -> None:
    out = tmp_path / "out"
    directory, _ = _render_batch_then_disable_it(cli, example_copy, out)
    (out / ".shipspec-output").write_bytes(b"listed\x80\n")
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    result = cli("generate", str(directory), "--output-dir", str(out))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"{out / '.shipspec-output'}:1:7: error: ")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before

# --- every message can be acted on --------------------------------------------------------


def test_a_module_set_without_values_targets_says_so(cli) -> None:
    listed = cli("values", str(EXAMPLES / "gointern-backend"), "--env", "dev")
    assert (listed.code, listed.out) == (1, "")
    assert listed.err.startswith("error: no module of ") and \
        "has a values target in 'dev'" in listed.err
    generated = cli("generate", str(EXAMPLES / "gointern-backend"), "--target", "values")
    # at the `modules:` key, where a module would say `values:`
    modules_line = (EXAMPLES / "gointern-backend" / "shipspec.yaml").read_text().splitlines(
        ).index("modules:") + 1
    assert generated.err.startswith(f"{EXAMPLES / 'gointern-backend' / 'shipspec.yaml'}:"
                                    f"{modules_line}:1: error: modules: no module of this "
                                    "spec has a values target\n"), generated.err


def test_values_check_of_a_missing_file_prints_a_command_that_works(cli,
                                                                    tmp_path: Path) -> None:
    missing = tmp_path / "values.yaml"
    result = cli("values", str(EXAMPLES / "astrago"), "--env", "stage", "--check", str(missing))
    assert result.code == 1
    assert result.err == (f"error: {missing} does not exist\n  hint: create it: shipspec values "
                          f"{EXAMPLES / 'astrago'} --env stage --write {missing}\n")
    hinted = result.err.split("create it: ", 1)[1].split()
    assert cli(*hinted[1:]).code == 0 and missing.exists()  # the hint, run as printed
    missing.write_text(missing.read_text().replace("astrago-frontend", "astrago-old"))
    drift = cli("values", str(EXAMPLES / "astrago"), "--env", "stage", "--check", str(missing))
    assert (f"  hint: run: shipspec values {EXAMPLES / 'astrago'} --env stage --write "
            f"{missing}\n") in drift.err


def test_a_spec_file_that_does_not_exist_is_named_as_such(cli) -> None:
    result = cli("validate", str(EXAMPLES / "astrago" / "shipspec.yml"))
    assert result.err.startswith(f"error: {str(EXAMPLES / 'astrago' / 'shipspec.yml')!r} "
                                 "does not exist\n")


def test_a_spec_spelt_yml_is_found_and_named_in_the_hint(cli, repo: Path) -> None:
    (repo / "shipspec.yml").write_text((EXAMPLES / "astrago" / "shipspec.yaml").read_text())
    result = cli("validate", str(repo))
    assert result.code == 1
    assert result.err == (f"error: no shipspec.yaml found in '{repo}'\n"
                          "  hint: rename shipspec.yml to shipspec.yaml, the name the Argo CD "
                          "plugin reads\n")


def test_a_long_value_is_cut_in_messages(cli, tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n" * 100)
    result = cli("validate", str(passwd))
    assert result.code == 1 and len(result.err) < 300
    assert "... (3,199 characters)" in result.err


@pytest.mark.parametrize(("stage_tag", "warned"), [
    ("'{{ module }}-{{ sha8 }}'", True),  # prod's template: one tag for a commit in both
    ("'{{ module }}-{{ branch }}-{{ sha8 }}'", False),
    (None, False),  # the default names the environment
])
def test_validate_warns_of_two_environments_giving_a_commit_one_tag(
        cli, repo: Path, stage_tag: str | None, warned: bool) -> None:
    """A commit on both branches (a release branch moved to main's commit) is built for
    each, and the second push replaces the first image under the tag: stage's pinned
    digest is left untagged, for a registry's clean-up to delete, or an immutable
    registry refuses the push."""
    stage = "{branch: main, values: stage.yaml" + (f", tag: {stage_tag}}}" if stage_tag
                                                    else "}")
    (repo / "shipspec.yaml").write_text(
        "project: shop\nregistry: {url: ghcr.io/o}\n"
        "source: {url: https://github.com/o/shop.git, webhookSecret: hook}\n"
        "deploy: {url: https://github.com/o/deploy.git}\nenvironments:\n"
        f"  stage: {stage}\n"
        "  prod: {branch: release, values: prod.yaml, tag: '{{ module }}-{{ sha8 }}'}\n"
        "modules:\n  api: {values: shop.api}\n  web: {values: shop.web}\n")
    result = cli("validate", str(repo))
    assert result.code == 0, result.err
    warning = ("  warning: modules.api: environments stage and prod give a commit's image one "
               "tag (api-01234567): a commit on both branches is built for each, and the "
               "second push replaces the image of the first, whose digest stage may pin (a "
               "registry's clean-up of untagged images deletes it), or a registry with "
               "immutable tags refuses it\n    hint: put {{ env }} in the tag, as the default "
               "{{ module }}-{{ env }}-{{ sha8 }} does, or move a tag between environments "
               "with shipspec promote rather than build its commit twice\n")
    assert (warning in result.out) == warned, result.out
    assert ("modules.web: environments stage and prod" in result.out) == warned


def test_an_unknown_flag_points_to_the_verbs_help(cli) -> None:
    result = cli("tag", str(EXAMPLES / "astrago"), "--module", "core", "--sha", "a" * 40,
                 "--bogus")
    assert result.err == ("error: unrecognized arguments: --bogus\n"
                          "  hint: see 'shipspec tag --help'\n")


@pytest.mark.parametrize(("arguments", "prefix"), [
    (["generate", str(EXAMPLES / "astrago"), "--targ", "github-actions"], "--targ"),
    (["validate", str(EXAMPLES / "astrago"), "--deploy", "."], "--deploy"),  # --deployment
    (["--deb", "validate", str(EXAMPLES / "astrago")], "--deb"),  # --debug
])
def test_a_flag_is_only_its_whole_name(cli, arguments: list[str], prefix: str) -> None:
    # argparse takes a prefix of one flag for it unless told not to: a script that wrote
    # one would change meaning once a flag with the same prefix is added
    result = cli(*arguments)
    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"error: unrecognized arguments: {prefix}")


def test_every_flag_says_what_it_does() -> None:
    from shipspec.cli.main import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions[0].choices.items():  # type: ignore[union-attr]
        verb, subparser = action
        for option in subparser._actions:
            assert option.help, (verb, option.option_strings)


def test_workflows_on_stdout_are_labelled_and_not_json(cli) -> None:
    listed = cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions")
    assert listed.code == 0
    assert listed.out.startswith("# xiilab/astrago-backend/.github/workflows/shipspec.yaml\n"
                                 "---\n")
    assert "\n# xiilab/astrago-frontend/.github/workflows/shipspec.yaml\n---\n" in listed.out
    as_json = cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions",
                  "--format", "json")
    assert (as_json.code, as_json.out) == (1, "")
    assert as_json.err.startswith("error: workflows are YAML files")


def test_output_dir_never_writes_through_a_link(cli, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    (out / "xiilab").mkdir(parents=True)
    (out / "xiilab" / "astrago-backend").symlink_to(outside)
    result = cli("generate", str(EXAMPLES / "astrago"), "--target", "github-actions",
                 "--output-dir", str(out))
    assert (result.code, result.out) == (1, "")
    assert "astrago-backend is a symbolic link: shipspec does not write through one" \
        in result.err
    assert list(outside.iterdir()) == [] and not (out / "xiilab" / "astrago-frontend").exists()


def test_values_write_to_a_directory_is_a_user_error(cli, tmp_path: Path) -> None:
    result = cli("values", str(EXAMPLES / "astrago"), "--env", "stage", "--write",
                 str(tmp_path))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"error: {tmp_path} is a directory, not a file\n")


@pytest.mark.parametrize("verb", ["values", "generate"])
def test_a_file_that_cannot_be_written_is_an_error_like_any_other(cli, tmp_path: Path,
                                                                   verb: str) -> None:
    """The machine's refusal is reported as every error is: "error: ...", exit 2, and
    nothing on stdout (the messages of a few such failures lacked the "error: ")."""
    blocker = tmp_path / "a-file"
    blocker.write_text("mine\n")
    where = blocker / "inside"
    args = (["--env", "stage", "--write", str(where / "values.yaml")] if verb == "values"
            else ["--output-dir", str(where)])
    result = cli(verb, str(EXAMPLES / "astrago"), *args)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"error: cannot write {where}/")
    assert result.err.endswith(": Not a directory\n")
    assert blocker.read_text() == "mine\n"


def test_plan_with_a_missing_changed_files_list_is_a_user_error(cli, tmp_path: Path) -> None:
    missing = tmp_path / "changed"
    result = cli("plan", str(EXAMPLES / "astrago"), "--repository", "xiilab/astrago-backend",
                 "--branch", "stabilize/1.0", "--sha", "a" * 40, "--changed-files", str(missing))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"error: cannot read {missing}: No such file or directory\n")


def test_generate_into_an_output_dir_that_is_a_file_is_a_user_error(cli,
                                                                   tmp_path: Path) -> None:
    file = tmp_path / "out"
    file.write_text("mine\n")
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--output-dir", str(file))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"error: --output-dir {file} is a file, not a directory\n")
    assert file.read_text() == "mine\n"


def test_generate_run_prints_the_pipelineruns_of_a_push_for_kubectl_create(cli) -> None:
    sha = "0123456789ABCDEF0123456789ABCDEF01234567"  # as some tools print it
    result = cli("generate", str(EXAMPLES / "gointern-backend"), "--run", sha,
                 "--module", "system")
    assert (result.code, result.err) == (0, "")
    [run] = list(yaml.safe_load_all(result.out))
    assert run["kind"] == "PipelineRun" and run["metadata"]["namespace"] == "gointern-ci"
    assert run["metadata"]["generateName"] == "gointern-backend-system-push-"
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    assert (params["revision"], params["branch"]) == (sha.lower(), "dev-system")
    listed = cli("generate", str(EXAMPLES / "gointern-backend"), "--run", sha, "--format",
                 "json")
    assert [item["spec"]["params"][0]["value"]
            for item in json.loads(listed.out)["items"]] == ["system", "portal", "aify"]


@pytest.mark.parametrize(("arguments", "message"), [
    (["--run", "0123456"], "error: --run '0123456' is not a whole commit id\n"
                           '  hint: give all its hexadecimal digits: --run "$(git rev-parse '
                           'HEAD)"\n'),
    (["--run=" + "-" * 40], "error: --run '" + "-" * 40 + "' is not a whole commit id\n"),
    (["--run", "g" * 40], "error: --run '" + "g" * 40 + "' is not a whole commit id\n"),
    (["--run", "a" * 40, "--target", "github-actions"],
     "error: --run prints Tekton PipelineRuns, for kubectl create -f -\n"),
    (["--run", "a" * 40, "--output-dir", "out"],
     "error: --run prints Tekton PipelineRuns, for kubectl create -f -\n"),
])
def test_generate_run_refuses_what_is_no_commit_or_no_tekton(cli, arguments: list[str],
                                                             message: str) -> None:
    result = cli("generate", str(EXAMPLES / "gointern-backend"), *arguments)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(message)


@pytest.mark.parametrize("target", ["github-actions", "tekton"])
def test_generate_says_when_the_ci_would_run_another_release_of_shipspec(
        cli, example_copy, target: str) -> None:
    """The CI runs shipspec's commands in ci.images.shipspec: an image of another release
    may lack what this one writes (plan --spec-before)."""
    directory = example_copy("astrago")
    spec = directory / "shipspec.yaml"
    text = spec.read_text()
    pinned = f"ghcr.io/xiilab/shipspec:{shipspec.__version__}@sha256:"
    assert pinned in text, "at a release, pin the examples' shipspec image to its version"
    assert cli("generate", str(directory), "--target", target).err == ""
    spec.write_text(text.replace(pinned, "ghcr.io/xiilab/shipspec:v0.0.9@sha256:"))
    result = cli("generate", str(directory), "--target", target)
    assert result.code == 0 and result.out
    assert result.err == (
        f"note: ci.images.shipspec is shipspec 0.0.9, and this CI, written by shipspec "
        f"{shipspec.__version__}, runs its commands in it: build the image of "
        f"{shipspec.__version__} from this repository's Dockerfile and name it there\n")
    # values files run no shipspec; the plugin's stderr is for failures only
    assert cli("generate", str(directory), "--target", "values").err == ""
    # validate, which a team runs where Argo CD's plugin shows no note, warns
    assert cli("validate", str(directory)).out.endswith(
        f"  warning: ci.images.shipspec: shipspec 0.0.9, which runs the commands of the CI "
        f"that shipspec {shipspec.__version__} writes\n    hint: build the image of "
        f"{shipspec.__version__} from this repository's Dockerfile and name it there\n")


@pytest.mark.parametrize(("reference", "version"), [
    ("ghcr.io/o/shipspec:0.2.0@sha256:" + "a" * 64, "0.2.0"),
    ("localhost:5000/shipspec:v1.10.3-rc.1", "1.10.3-rc.1"),
    ("ghcr.io/o/shipspec:main", None), ("ghcr.io/o/shipspec:latest", None),
    ("localhost:5000/shipspec@sha256:" + "a" * 64, None), ("shipspec:1.2", None),
    ("shipspec:1.٢.3", None),  # an Arabic-Indic digit is a digit to str.isdigit
])
def test_the_release_an_image_tag_names(reference: str, version: str | None) -> None:
    from shipspec.images import release_of

    assert release_of(reference) == version


def test_generate_says_when_the_default_target_is_not_the_specs_engine(cli) -> None:
    result = cli("generate", str(EXAMPLES / "astrago"))
    assert result.code == 0 and "kind: Pipeline" in result.out
    assert result.err == (f"note: rendered the default target tekton; {EXAMPLES / 'astrago'}"
                          "/shipspec.yaml runs its CI on github-actions: add --target "
                          "github-actions\n")
    assert cli("generate", str(EXAMPLES / "gointern-backend")).err == ""
    assert cli("generate", str(EXAMPLES / "astrago"), "--target", "tekton").err == ""


@pytest.mark.parametrize("flags", [["--release", "astrago"], ["--kube-version", "1.31.2"],
                                   ["--deployment", ".", "--api-version", "apps/v1"]])
def test_helmfile_only_flags_are_refused_for_other_targets(cli, flags: list[str]) -> None:
    result = cli("generate", str(EXAMPLES / "astrago"), "--target", "values", "--env", "stage",
                 *flags)
    assert (result.code, result.out) == (1, "")
    named = ", ".join(flag for flag in flags if flag.startswith("--"))
    assert result.err.startswith(f"error: {named}: for the target helmfile only, not values\n")


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_a_description_and_an_example(verb: str) -> None:
    helped = run_process(verb, "--help")
    assert helped.code == 0
    summary = VERBS[verb].summary
    assert f"{summary[0].upper()}{summary[1:]}." in " ".join(helped.out.split())
    assert f"example:\n  {VERBS[verb].example}\n" in helped.out


def test_bump_help_says_it_clones_commits_and_pushes_and_where_the_token_is() -> None:
    text = " ".join(run_process("bump", "--help").out.split())
    assert "Clones the deployment repository" in text and "commits the new tags and pushes" in text
    assert "default DEPLOY_TOKEN" in text and "never from the command line" in text
    assert "7 to 64 hexadecimal digits" in " ".join(run_process("tag", "--help").out.split())


def test_a_verb_that_cleans_up_on_sigterm_holds_it_only_while_it_runs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """bump's SIGTERM handler (cli/termination.py) is installed for its run alone: once it
    has returned, while its output is written, SIGTERM does what it did before; and a
    program that calls main() keeps its own handling throughout."""
    import shipspec.cli.bump

    seen = []
    monkeypatch.setattr(shipspec.cli.bump, "run",
                        lambda args: seen.append(signal.getsignal(signal.SIGTERM)) or "")
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(sys, "argv", ["shipspec", "bump", "--module", "core"])
    try:
        assert main() == 0  # as the console script calls it
    finally:
        gc.unfreeze()  # what main() froze for the process's exit
    assert main(["bump", "--module", "core"]) == 0  # as a program calls it
    assert seen[0] not in (before, signal.SIG_DFL, signal.SIG_IGN) and seen[1] == before
    assert signal.getsignal(signal.SIGTERM) == before


def test_every_error_escapes_what_a_terminal_would_act_on(tmp_path: Path) -> None:
    """docs/reference/errors.md: control characters are escaped in every message. Problems
    in the spec were; failures of the world (git's words, and what they quote: a URL from
    the command line, a server's message) reached the terminal, or a CI log, raw."""
    url = f"file://{tmp_path}/no\x1b[31msuch\rrepository"
    result = run_process("bump", str(EXAMPLES / "astrago"), "--module", "core", "--sha",
                         "0123456789abcdef0123456789abcdef01234567", "--repo", url)
    assert result.code == 2
    assert f"cannot push to file://{tmp_path}/no\\x1b[31msuch\\x0drepository" in result.err
    assert "\x1b" not in result.err
