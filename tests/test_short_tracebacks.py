"""In IPython, an error raised inside fluxlite shows the student's own frames and the message,
with one line saying fluxlite's frames were hidden (fluxlite/_ipython.py).

Each case runs cells in a fresh IPython shell in a subprocess (an InteractiveShell takes over
sys.displayhook, which would disturb the other tests in this process) and reads what the shell
printed, as a student reads a cell's error."""
import json
import subprocess
import sys
import textwrap

NOTE = "[frames inside fluxlite are hidden: %xmode Verbose shows them]"

PRELUDE = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance(colors="nocolor")      # as a kernel has: get_ipython() finds it
"""


def run_cells(*cells, prelude=""):
    """Run `cells` one after another in a fresh shell; what each printed, and the shell's state."""
    script = PRELUDE + textwrap.dedent(prelude) + textwrap.dedent(f"""
    import contextlib, io
    printed = []
    for cell in {list(cells)!r}:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            shell.run_cell(cell)
        printed.append(out.getvalue())
    frames = []
    tb = getattr(sys, "last_traceback", None)
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    cause, cause_frames = getattr(getattr(sys, "last_value", None), "__cause__", None), []
    tb = cause.__traceback__ if cause is not None else None
    while tb is not None:
        cause_frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    print(json.dumps({{"printed": printed, "last_frames": frames, "cause_frames": cause_frames,
                      "custom": [c.__name__ for c in shell.custom_exceptions]}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


SHAPE = "import fluxlite as fl\nm = fl.Chain(fl.Dense(3, 2))\nm(fl.zeros32(4, 1))"


def test_a_shape_error_shows_the_cell_line_and_the_message_but_no_fluxlite_frame():
    shown = run_cells(SHAPE)["printed"][0]
    assert "----> 3 m(fl.zeros32(4, 1))" in shown
    assert "LayerShapeError: Dense(3 => 2) expects 3 features" in shown
    assert NOTE in shown
    assert "layers" not in shown and "basic.py" not in shown and "checks.py" not in shown
    # the note sits between the student's frame and the message
    assert shown.index("m(fl.zeros32") < shown.index(NOTE) < shown.index("LayerShapeError:")


def test_a_students_function_called_by_gradient_keeps_both_of_the_students_frames():
    cell = ("import fluxlite as fl\ndef f(v):\n    v *= 2\n    return v.sum()\n"
            "fl.gradient(f, fl.zeros32(3))")
    shown = run_cells(cell)["printed"][0]
    assert "----> 5 fl.gradient(f, fl.zeros32(3))" in shown
    assert "in f(v)" in shown and "----> 3     v *= 2" in shown
    assert "InPlaceError:" in shown and NOTE in shown
    assert "gradient.py" not in shown and "tracer.py" not in shown


def test_errors_that_do_not_pass_through_fluxlite_look_as_ipython_shows_them():
    cells = ["import fluxlite as fl", "1/0", "def g():\n    return {}['k']\ng()", "x = ("]
    with_fluxlite = run_cells(*cells)["printed"]
    plain = run_cells("pass", *cells[1:])["printed"]
    assert with_fluxlite[1:] == plain[1:]
    assert "ZeroDivisionError: division by zero" in with_fluxlite[1]
    assert "KeyError: 'k'" in with_fluxlite[2]
    assert "SyntaxError" in with_fluxlite[3]
    assert not any(NOTE in shown for shown in with_fluxlite)


def test_importing_fluxlite_in_ipython_installs_the_handler_once():
    assert run_cells("pass")["custom"] == []
    state = run_cells("import fluxlite", "import importlib, fluxlite; importlib.reload(fluxlite)")
    assert state["custom"] == ["Exception"]


def test_xmode_verbose_brings_fluxlite_frames_back_and_context_hides_them_again():
    shown = run_cells(SHAPE, "%xmode Verbose", "m(fl.zeros32(4, 1))", "%xmode Context",
                      "m(fl.zeros32(4, 1))")["printed"]
    assert "basic.py" in shown[2] and "checks.py" in shown[2] and NOTE not in shown[2]
    assert "basic.py" not in shown[4] and NOTE in shown[4]


def test_minimal_mode_shows_only_the_message():
    shown = run_cells("%xmode Minimal", SHAPE)["printed"][1]
    assert shown.strip().startswith("LayerShapeError: Dense(3 => 2) expects 3 features")
    assert NOTE not in shown and "---->" not in shown


def test_debugging_still_gets_the_whole_traceback():
    frames = run_cells(SHAPE)["last_frames"]
    assert any(f.endswith("checks.py") for f in frames), frames
    assert any(f.startswith("<ipython-input") for f in frames), frames


def test_an_error_raised_from_a_fluxlite_error_hides_fluxlite_in_both_and_keeps_them_after():
    cell = ("import fluxlite as fl\ntry:\n    fl.Dense(3, 2)(fl.zeros32(4, 1))\n"
            "except ValueError as e:\n    raise RuntimeError('wrapped') from e")
    state = run_cells(cell)
    shown = state["printed"][0]
    assert "LayerShapeError: Dense(3 => 2) expects 3 features" in shown
    assert "direct cause of the following exception" in shown
    assert "RuntimeError: wrapped" in shown and NOTE in shown
    assert "basic.py" not in shown and "checks.py" not in shown
    # the cause's own traceback is given back whole once it has been shown
    assert any(f.endswith("checks.py") for f in state["cause_frames"]), state["cause_frames"]


def test_a_shell_with_its_own_handler_is_left_alone():
    prelude = """
    def mine(shell, etype, value, tb, tb_offset=None):
        print("my handler saw", etype.__name__)
    shell.set_custom_exc((ValueError,), mine)
    """
    state = run_cells(SHAPE, prelude=prelude)
    assert state["custom"] == ["ValueError"]
    assert state["printed"][0].strip() == "my handler saw LayerShapeError"


def test_outside_ipython_tracebacks_are_untouched():
    run = subprocess.run([sys.executable, "-c", "import fluxlite as fl\n"
                          "fl.Chain(fl.Dense(3, 2))(fl.zeros32(4, 1))"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "checks.py" in run.stderr and "LayerShapeError" in run.stderr
    assert NOTE not in run.stderr
