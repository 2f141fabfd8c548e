"""A griffe extension for the API reference (mkdocs.yml): hides special class members.

The reference inspects the imported package (lamina builds some classes and namespaces at
import time, which static analysis cannot see), and inspection lists every entry of a class's
`__dict__`: `__doc__`, `__module__`, `__weakref__`, `__slots__`, ... `__init__` (merged into
the class) and `__call__` (the contract of losses, metrics, constraints) stay.
"""

import griffe

KEPT = {"__init__", "__call__"}


class HideSpecialMembers(griffe.Extension):
    def on_class_members(self, *, cls, **kwargs):
        for name in [n for n in cls.members if n.startswith("__") and n.endswith("__")]:
            if name not in KEPT:
                del cls.members[name]
