"""The official SWE-bench harness's pure parts, driven by tests/harness.test.ts.

Reads one JSON request on stdin, writes one JSON answer on stdout. Run with the venv that
scripts/swebench-harness.sh makes: `--v5` uses swebench 5.0.2 (log parsers, grading, report,
eval-script parsing); `--v4 DIR` puts swebench 4.1.0 from DIR first on sys.path (specs, test
directives, eval scripts). The modules the harness imports for Docker, Hugging Face datasets,
Modal and GitHub are replaced by inert stubs: none of the functions called here uses them.
"""

import importlib.abc
import importlib.machinery
import json
import os
import sys
import tempfile
import types

STUBBED = {
    "docker", "datasets", "modal", "dotenv", "tqdm", "tenacity", "requests",
    "ghapi", "git", "fastcore", "bs4", "chardet", "rich", "yaml",
}


class _Anything:
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _Anything()

    def __getattr__(self, name):
        return _Anything()

    def __mro_entries__(self, bases):
        return (object,)


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _StubModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _StubFinder())


def v5(req):
    from swebench.harness import grading
    from swebench.harness.log_parsers import PARSER_REGISTRY
    from swebench.harness.utils import parse_eval_script, record_test_exit_code
    from swebench.types import TestSpec

    op = req["op"]
    if op == "parse":
        return [list(PARSER_REGISTRY[req["parser"]](log, None).items()) for log in req["logs"]]
    if op == "report":
        out = []
        for case in req["cases"]:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, newline="") as f:
                f.write(case["test_output"])
                log_path = f.name
            try:
                spec = TestSpec(
                    instance_id=case["instance_id"],
                    image="unused",
                    eval_script_list=[],
                    repo=case.get("repo", "unused"),
                    version=case.get("version", "unused"),
                    FAIL_TO_PASS=case["FAIL_TO_PASS"],
                    PASS_TO_PASS=case["PASS_TO_PASS"],
                    log_parser=case["log_parser"],
                    eval_type=case["eval_type"],
                )
                pred = {"instance_id": case["instance_id"], "model_patch": case["model_patch"]}
                report = grading.get_eval_report(spec, pred, log_path, include_tests_status=True)
                status_map, found = grading.get_logs_eval(spec, log_path)
                rid = report[case["instance_id"]]
                resolution = grading.get_resolution_status(rid["tests_status"]) if "tests_status" in rid else None
                out.append({
                    "report_json": json.dumps(report, indent=4),
                    "status_map": list(status_map.items()),
                    "found": found,
                    "resolution": resolution,
                })
            finally:
                os.unlink(log_path)
        return out
    if op == "eval_script":
        return [
            TestSpec(
                instance_id="x", image="x", repo="x", version="x", FAIL_TO_PASS=[], PASS_TO_PASS=[],
                eval_script_list=record_test_exit_code(parse_eval_script(s)),
            ).eval_script
            for s in req["scripts"]
        ]
    raise ValueError(f"unknown op {op}")


def v4(req):
    from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS
    from swebench.harness.log_parsers import MAP_REPO_TO_PARSER
    from swebench.harness.test_spec.python import get_test_directives
    from swebench.harness.test_spec.create_scripts import make_eval_script_list
    from swebench.harness.utils import get_modified_files

    op = req["op"]
    if op == "specs":
        out = {}
        for repo in req["repos"]:
            out[repo] = {
                "parser": MAP_REPO_TO_PARSER[repo].__name__,
                "versions": {
                    ver: {
                        "test_cmd": s.get("test_cmd"),
                        "install": s.get("install"),
                        "eval_commands": s.get("eval_commands", []),
                        "python": s.get("python"),
                    }
                    for ver, s in MAP_REPO_VERSION_TO_SPECS[repo].items()
                },
            }
        return out
    if op == "eval_script":
        out = []
        for inst in req["instances"]:
            specs = MAP_REPO_VERSION_TO_SPECS[inst["repo"]][inst["version"]]
            out.append({
                "lines": make_eval_script_list(
                    inst, specs, "testbed", "/testbed", inst["base_commit"], inst["test_patch"]
                ),
                "directives": get_test_directives(inst),
                "modified": get_modified_files(inst["test_patch"]),
            })
        return out
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    if sys.argv[1] == "--v4":
        sys.path.insert(0, sys.argv[2])
        handler = v4
    else:
        handler = v5
    request = json.loads(sys.stdin.read())
    json.dump(handler(request), sys.stdout)
