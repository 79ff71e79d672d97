"""The subprocess protocol: an engine in any language, run as ONE long-lived process.

The suite starts the engine once (``DMTLOSS_IMPL=command:./my-engine``, or
``DMTLOSS_COMMAND=./my-engine``), writes one JSON request per line to its stdin and
reads one JSON answer per line from its stdout; anything on stderr is kept and shown
when something goes wrong. A run of the suite is about a thousand requests, so the
process must stay up; if it dies or answers garbage, the call fails with an
:class:`EngineError` (and its stderr), and the next call starts a fresh process.

Requests (every one has an integer ``id``; the answer repeats it):

======================  ==========================================================
``op``                  other fields -> fields of the answer
======================  ==========================================================
``hello``               ``protocol`` (1) -> ``name``, ``version``, ``levels`` (list
                        among ``"diagram"``, ``"cells"``, ``"masks"``), optional
                        ``dims`` (``[2]``, ``[3]`` or ``[2, 3]``, default both) and
                        ``arrays`` (``"json"``, the default, or ``"npy"``: how the
                        suite should send ``x``)
``persistence_diagram`` ``x`` -> ``diagram`` ((n, 3) float64 rows dim, birth, death)
``persistence_pairs``   ``x`` -> ``dim`` (n,) int64, ``birth``, ``death`` (n, d) int64,
                        ``birth_value``, ``death_value`` (n,) float64
``morse_structures``    ``x``, ``epsilon`` (number), ``frame`` (bool) -> ``critical``
                        ((m, d) int64) and ``uncancelled`` (an object with the five
                        fields of ``persistence_pairs``) for the cells level;
                        ``ridges``, ``boundaries`` (bool, shaped like ``x``) and
                        optionally ``mask`` for the masks level
======================  ==========================================================

An array is an object, either ``{"dtype": "float64", "shape": [3, 4], "data": [...]}``
(``data`` flat, in C order; numbers, ``true``/``false``, and the strings ``"inf"``,
``"-inf"``, ``"nan"`` or the tokens ``Infinity``, ``-Infinity``, ``NaN`` for the
non-finite floats), or ``{"npy": "<base64 of the bytes of a .npy file>"}``. ``dtype``
is a numpy name (``float64``, ``int64``, ``bool``, ...); the suite checks the dtypes the
contract fixes, so say what you mean. The suite sends ``x`` as float64 always (its own
adapter converts the caller's integers, bools and views), with every value written in
the shortest form that reads back to the same float64.

An error is an answer too: ``{"id": 7, "error": "ValueError: epsilon must be >= 0"}``
makes the call raise :class:`EngineError` with that text; the process goes on.
"""

import base64
import io
import json
import os
import queue
import subprocess
import threading
from collections import deque
from types import SimpleNamespace

import numpy as np

__all__ = ["PROTOCOL", "EngineError", "CommandEngine", "encode_array", "decode_array"]

PROTOCOL = 1
TIMEOUT_ENV = "DMTLOSS_COMMAND_TIMEOUT"
PAIR_FIELDS = ("dim", "birth", "death", "birth_value", "death_value")
_LEVELS = ("diagram", "cells", "masks")


class EngineError(RuntimeError):
    """The engine answered with an error, died, timed out or broke the protocol."""


def encode_array(array, arrays="json"):
    """An array as the protocol's JSON object (``arrays`` is ``"json"`` or ``"npy"``).

    Examples
    --------
    >>> encode_array(np.array([[1.0, -np.inf]]))
    {'dtype': 'float64', 'shape': [1, 2], 'data': [1.0, '-inf']}
    >>> decode_array(encode_array(np.eye(2, dtype=bool), "npy")).tolist()
    [[True, False], [False, True]]
    """
    array = np.asarray(array)
    if arrays == "npy":
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if arrays != "json":
        raise ValueError(f"`arrays` must be 'json' or 'npy'; got {arrays!r}")
    data = array.ravel().tolist()
    if array.dtype.kind == "f":
        data = [v if np.isfinite(v) else repr(float(v)) for v in data]
    return {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}


def decode_array(obj, what="array"):
    """The numpy array of a protocol array object (see the module docstring).

    Examples
    --------
    >>> decode_array({"dtype": "float64", "shape": [1, 3], "data": [0, 1.5, "-inf"]}).tolist()
    [[0.0, 1.5, -inf]]
    """
    if not isinstance(obj, dict):
        raise EngineError(f"{what}: an array must be an object with dtype, shape, data or with npy; "
                          f"got {type(obj).__name__}")
    if "npy" in obj:
        try:
            return np.load(io.BytesIO(base64.b64decode(obj["npy"], validate=True)), allow_pickle=False)
        except (ValueError, TypeError, OSError) as error:
            raise EngineError(f"{what}: bad npy field ({error})") from None
    try:
        dtype = np.dtype(obj["dtype"])
        shape = tuple(int(n) for n in obj["shape"])
        data = obj["data"]
        if dtype.kind == "f":
            data = [float(v) for v in data]  # "inf", "-inf", "nan" and numbers
        return np.array(data, dtype=dtype).reshape(shape)
    except (KeyError, TypeError, ValueError) as error:
        raise EngineError(f"{what}: bad array object ({type(error).__name__}: {error})") from None


class CommandEngine:
    """An engine run as one long-lived subprocess, seen as a conformance adapter.

    Parameters
    ----------
    argv : list of str
        The command and its arguments (no shell).
    timeout : float, optional
        Seconds to wait for one answer (default: ``DMTLOSS_COMMAND_TIMEOUT``, else 120);
        past it the process is killed and the call fails.

    Examples
    --------
    >>> import sys
    >>> engine = CommandEngine([sys.executable, "-m", "dmtloss.conformance.loopback"])
    >>> engine.LEVELS, engine.DIMS
    (('diagram', 'cells', 'masks'), (2, 3))
    >>> engine.persistence_diagram(np.array([[1.0, 1, 1], [1, 0, 1], [1, 1, 1]])).tolist()
    [[0.0, 1.0, -inf], [1.0, 1.0, 0.0]]
    >>> engine.close()
    """

    def __init__(self, argv, timeout=None):
        self.argv = [str(a) for a in argv]
        self.timeout = float(timeout if timeout is not None else os.environ.get(TIMEOUT_ENV, "120"))
        self._process = None
        self._next_id = 0
        self._lock = threading.Lock()
        hello = self._request({"op": "hello", "protocol": PROTOCOL})
        levels = hello.get("levels")
        if not isinstance(levels, list) or not levels or any(level not in _LEVELS for level in levels):
            raise EngineError(f"{self._who()}: hello must answer `levels`, a non-empty list among "
                              f"{list(_LEVELS)}; got {levels!r}")
        self.LEVELS = tuple(levels)
        self.DIMS = tuple(int(d) for d in hello.get("dims", (2, 3)))
        self.NAME = str(hello.get("name", self.argv[0]))
        self.VERSION = str(hello.get("version", "unknown"))
        self.arrays = hello.get("arrays", "json")
        if self.arrays not in ("json", "npy"):
            raise EngineError(f"{self._who()}: hello's `arrays` must be 'json' or 'npy'; got {self.arrays!r}")

    def __repr__(self):
        return f"<CommandEngine {' '.join(self.argv)}>"

    def _who(self):
        return f"engine {' '.join(self.argv)!r}"

    # -- the process -------------------------------------------------------------------

    def _start(self):
        try:
            process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        except OSError as error:
            raise EngineError(f"{self._who()} could not be started: {error}") from None
        answers, stderr = queue.Queue(), deque(maxlen=40)

        def pump(stream, sink, end):
            for line in stream:
                sink(line)
            end()

        self._pumps = [threading.Thread(target=pump, args=(process.stdout, answers.put, lambda: answers.put(None)),
                                        daemon=True),
                       threading.Thread(target=pump, args=(process.stderr, stderr.append, lambda: None), daemon=True)]
        for thread in self._pumps:
            thread.start()
        self._process, self._answers, self._stderr = process, answers, stderr

    def _fail(self, message):
        stderr = "".join(self._stderr).rstrip() if self._process is not None else ""
        self.close()
        raise EngineError(f"{self._who()}: {message}" + (f"\n--- its stderr ---\n{stderr}" if stderr else ""))

    def close(self):
        """Close the engine's stdin and wait for it (killed after 5 s)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for thread in self._pumps:  # they end at the pipes' end of file
            thread.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 -- interpreter shutdown
            pass

    def _request(self, request):
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self.close()
                self._start()
            self._next_id += 1
            request = dict(request, id=self._next_id)
            try:
                self._process.stdin.write(json.dumps(request, allow_nan=False) + "\n")
                self._process.stdin.flush()
            except OSError as error:
                self._fail(f"could not send the request ({error}); did it exit?")
            try:
                line = self._answers.get(timeout=self.timeout)
            except queue.Empty:
                self._fail(f"no answer to {request['op']} within {self.timeout:g} s "
                           f"(set {TIMEOUT_ENV} to wait longer); killed")
            if line is None:
                self._process.wait()
                self._fail(f"exited (status {self._process.returncode}) instead of answering {request['op']}")
            try:
                answer = json.loads(line)
            except ValueError:
                self._fail(f"answered {request['op']} with a line that is not JSON: {line[:200]!r}")
            if not isinstance(answer, dict) or answer.get("id") != request["id"]:
                self._fail(f"answer to request id {request['id']} ({request['op']}) must be an object "
                           f"with that id; got {line[:200]!r}")
        if "error" in answer:
            raise EngineError(str(answer["error"]))
        return answer

    # -- the adapter -------------------------------------------------------------------

    def _x(self, x):
        return encode_array(np.asarray(x, dtype=np.float64), self.arrays)

    @staticmethod
    def _field(answer, name, op):
        if name not in answer:
            raise EngineError(f"the answer to {op} has no field {name!r} (fields: {sorted(answer)})")
        return decode_array(answer[name], f"{op}: {name}")

    def _pairs(self, answer, op):
        return SimpleNamespace(**{name: self._field(answer, name, op) for name in PAIR_FIELDS})

    def persistence_diagram(self, x):
        """The engine's diagram of ``x``: an (n, 3) array of rows (dim, birth, death)."""
        return self._field(self._request({"op": "persistence_diagram", "x": self._x(x)}), "diagram",
                           "persistence_diagram")

    def persistence_pairs(self, x):
        """The engine's pairs of ``x``, with arrays ``dim``, ``birth``, ``death``, values."""
        return self._pairs(self._request({"op": "persistence_pairs", "x": self._x(x)}), "persistence_pairs")

    def morse_structures(self, x, epsilon, frame=False):
        """The engine's structures of ``x`` at ``epsilon``: the fields its levels give."""
        op = "morse_structures"
        answer = self._request({"op": op, "x": self._x(x), "epsilon": float(epsilon), "frame": bool(frame)})
        out = SimpleNamespace()
        if "cells" in self.LEVELS:
            out.critical = self._field(answer, "critical", op)
            if not isinstance(answer.get("uncancelled"), dict):
                raise EngineError(f"the answer to {op} needs `uncancelled`, an object with the fields "
                                  f"{list(PAIR_FIELDS)}")
            out.uncancelled = self._pairs(answer["uncancelled"], f"{op}: uncancelled")
        if "masks" in self.LEVELS:
            out.ridges = self._field(answer, "ridges", op)
            out.boundaries = self._field(answer, "boundaries", op)
            if "mask" in answer:
                mask = self._field(answer, "mask", op)
                out.mask = lambda: mask
        return out
