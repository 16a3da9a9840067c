"""Print the folder of this Python's module search path that belongs to an install prefix (argv[1]).

Debian's python3 looks in /usr/local/lib/python3.X/dist-packages (prefix /usr/local) and in the user site
~/.local/lib/python3.X/site-packages (prefix ~/.local), not in sysconfig's posix_prefix folder; any other
prefix gets <prefix>/lib/python3.X/site-packages, which the user then puts on PYTHONPATH."""
import os
import site
import sys

prefix = os.path.realpath(sys.argv[1])
candidates = [site.getusersitepackages()] + [p for p in sys.path if p.endswith(("dist-packages", "site-packages"))]
for cand in candidates:
    if os.path.realpath(cand).startswith(prefix + os.sep):
        print(cand)
        break
else:
    print(os.path.join(prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages"))
