"""Runs example scripts one after another in one fresh process, as `python examples/NAME.py
--small` would, and prints what each one printed and how it ended, as JSON.

    python tests/examples/_run_examples.py custom_losses tracing ...

Starting Python, JAX and lamina costs a few CPU seconds per process; paying it once for all the
examples, instead of once per example, is what this driver is for. Between scripts the session
is cleared (auto-names count from zero again, as in a fresh process), and each script's own
`keras.utils.set_random_seed` makes its numbers those of a fresh process. One script's failure
is recorded (its exit code and traceback) and the others still run.
"""

import contextlib
import importlib.util
import io
import json
import pathlib
import sys
import traceback

MARKER = "\n@@example results@@\n"
EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def run(name):
    import lamina

    lamina.utils.clear_session()
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    stdout, returncode, error = io.StringIO(), 0, ""
    with contextlib.redirect_stdout(stdout):
        try:
            spec.loader.exec_module(module)
            module.main(["--small"])
        except SystemExit as exit_:  # what the interpreter would make of sys.exit(...)
            code = exit_.code
            returncode = code if isinstance(code, int) else (0 if code is None else 1)
            if not isinstance(code, (int, type(None))):
                error = str(code)
        except BaseException:  # noqa: BLE001 - a traceback, as the interpreter would print
            returncode, error = 1, traceback.format_exc()
    return {"stdout": stdout.getvalue(), "returncode": returncode, "error": error}


def main(names):
    sys.path.insert(0, str(EXAMPLES))  # the scripts import their _common module
    results = {name: run(name) for name in names}
    # After a marker: anything a library wrote to the real stdout stays before it.
    sys.stdout.write(MARKER + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
