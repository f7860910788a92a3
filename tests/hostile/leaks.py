"""Programs that change process state a namespace reset cannot undo, and the check the next
program runs (a final expression that must print True). Shared by the fork-runtime and
Jupyter-pool isolation tests."""

from __future__ import annotations

import os
import tempfile

# Where the child-processes case writes its children's pids (kernels have their own cwd).
PIDS = os.path.join(tempfile.gettempdir(), f"asst-leak-pids-{os.getpid()}.txt")

LEAKS: dict[str, tuple[str, str]] = {
    "module attribute": ("import math\nmath.pi = 3", "import math\nmath.pi > 3.14"),
    "builtins": (
        "import builtins\nbuiltins.leaky = 1",
        "import builtins\nnot hasattr(builtins, 'leaky')",
    ),
    "sys.modules": (
        "import sys, types\nsys.modules['leaky'] = types.ModuleType('leaky')",
        "import sys\n'leaky' not in sys.modules",
    ),
    "new module": (
        "open('leakymod.py', 'w').write('X = 1')\nimport sys\nsys.path.insert(0, '.')\n"
        "import leakymod\nleakymod.X = 2",
        "import sys\n'leakymod' not in sys.modules",
    ),
    "globals": ("secret = 42", "'secret' not in dir()"),
    "cwd": ("import os\nos.chdir('/')", "import os\nos.getcwd() != '/'"),
    "environment": (
        "import os\nos.environ['LEAKY'] = '1'\nos.environ.pop('HOME', None)",
        "import os\n'LEAKY' not in os.environ and 'HOME' in os.environ",
    ),
    "open files": (
        "import os\nkept = open('leak.txt', 'w')\nfd = os.open('leak.txt', os.O_RDONLY)",
        "import os\n"
        "def target(fd):\n    try:\n        return os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n        return ''\n"
        "not any(target(fd).endswith('leak.txt') for fd in os.listdir('/proc/self/fd'))",
    ),
    "threads": (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(1000,)).start()\n"
        "threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()",
        "import threading, time\ntime.sleep(0.1)\n"
        "not any('sleep' in repr(getattr(t, '_target', '')) for t in threading.enumerate())",
    ),
    "child processes": (
        f"PIDS = {PIDS!r}\nimport subprocess\np = subprocess.Popen(['sleep', '1000'])\n"
        "d = subprocess.Popen(['setsid', 'sleep', '1001'])\n"
        "open(PIDS, 'w').write(f'{p.pid} {d.pid}')",
        f"PIDS = {PIDS!r}\nimport os\n"
        "def alive(pid):\n    try:\n        st = open(f'/proc/{pid}/stat').read()\n"
        "    except OSError:\n        return False\n    return st.rsplit(')', 1)[1].split()[0] != 'Z'\n"
        "import time\n"
        "pids = [int(p) for p in open(PIDS).read().split()]\n"
        "for _ in range(50):  # killed (they cannot run), maybe not yet reaped\n"
        "    if not any(alive(p) for p in pids):\n        break\n    time.sleep(0.01)\n"
        "not any(alive(p) for p in pids)",
    ),
}
