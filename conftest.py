"""pytest set-up for every test, doctests in fluxlite/ and widgets/ included.

Some tests press Ctrl-C on purpose (`fluxlite.autodiff.interrupts`, tests/test_interrupts.py).
Python turns SIGINT into KeyboardInterrupt only when it was not ignored at start-up, and some
CI runners and background shells start their jobs with SIGINT ignored. The tests run with
Python's own handler, as in a terminal or a Jupyter kernel, whatever the runner inherited.
"""
import signal
import threading

if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, signal.default_int_handler)
