"""The code the assistant runs inside kernels and fork servers, as one package.

Every process that needs it (the Jupyter kernel's boot code, the fork server's command line,
the app itself) loads it the same way: ``assistant.execution.kernelcode.kernel_module``, which
registers this folder as the package ``assistant_kernels`` (a name no user module takes) and
imports a module of it; the modules import each other relatively. Standard library only at
import time, and importing this package does nothing: it runs in the user's interpreter.

* ``assistant_kernel``: the print hook, the final-cell transform, interrupt holding;
* ``limits``, ``outputcap``, ``contain``, ``procs``, ``proctree``: the limits of a kernel;
* ``textsafe``: text that UTF-8 can carry;
* ``fork_server``, ``fork_children``, ``fork_child``: the fork runtime;
* ``isolation``, ``upstream_exec``: the pool's leak check, upstream's execution mode (both
  also loadable as single files).
"""
