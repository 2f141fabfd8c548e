"""Automatic tracking of what a stateful object owns: Variables, sublayers, metrics, seeds.

Assigning to an attribute of a layer, metric or optimizer (`self.dense = Dense(3)`,
`self.blocks = [Block(), ...]`, `self.heads = {"a": Dense(1)}`, `self.total = Variable(0.0)`)
records the objects in the owner's collections, in assignment order, so `weights`,
`variables` and `layers` need no registration calls. Lists and dicts are wrapped so that later
`append`s and item assignments are tracked too.

Which collection an object joins is declared by its class (`_lamina_tracked_as = "layers"`),
so this module imports nothing from the packages that define those classes. Every change to a
collection is reported to the owner (`on_change`), which is how a stateful object knows that
programs compiled for its old structure are stale.
"""

_VARIABLE_COLLECTIONS = ("trainable_variables", "non_trainable_variables", "variables")


def collection_of(value):
    """The name of the collection `value` belongs in, or None if it is not tracked."""
    return getattr(type(value), "_lamina_tracked_as", None)


def contains(value, predicate):
    """Whether `value` is, or (in lists, tuples and dicts) holds, an item `predicate` accepts.

    Walked by hand, not as a pytree: it runs on every attribute set and every eager call.
    """
    if predicate(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains(item, predicate) for item in value)
    if isinstance(value, dict):
        return any(contains(item, predicate) for item in value.values())
    return False


def contains_trackable(value):
    """Whether `value` is, or (in lists, tuples and dicts) holds, a tracked object."""
    return contains(value, lambda item: collection_of(item) is not None)


class Tracker:
    """The collections of one owner, e.g. `{"layers": [...], "trainable_variables": [...]}`.

    Variables go to `trainable_variables`/`non_trainable_variables` when the owner keeps them
    apart (layers do), else to `variables`. Objects of a kind the owner has no collection for
    are ignored. `on_change(value, added)` is called after each addition and removal.
    """

    __slots__ = ("collections", "on_change")

    def __init__(self, collections, on_change=None):
        self.collections = collections
        self.on_change = on_change

    def track(self, value):
        """Records the tracked objects in `value`; returns the value to store (lists and dicts
        holding tracked objects are wrapped so that they keep tracking)."""
        kind = collection_of(value)
        if kind is not None:
            self.add(kind, value)
            return value
        if isinstance(value, (TrackedList, TrackedDict)):
            for item in value._tracked_items():
                self.track(item)
            value._owners.append(self)
            return value
        if isinstance(value, list):
            if any(contains_trackable(item) for item in value):
                wrapped = TrackedList(value, tracker=self)
                for item in wrapped:
                    self.track(item)
                return wrapped
            return value
        if isinstance(value, dict):
            if any(contains_trackable(item) for item in value.values()):
                wrapped = TrackedDict(value, tracker=self)
                for item in wrapped.values():
                    self.track(item)
                return wrapped
            return value
        if isinstance(value, tuple):
            for item in value:
                self.track(item)
        return value

    def _variable_collection(self, variable):
        if "trainable_variables" in self.collections:
            return "trainable_variables" if variable.trainable else "non_trainable_variables"
        return "variables"

    def holds(self, value):
        """Whether `value` is in one of the collections."""
        return any(item is value for items in self.collections.values() for item in items)

    def add(self, kind, value, index=None):
        """Adds `value` to the collection for `kind` (at `index` if given), once."""
        if kind == "variables":
            if any(item is value for name in _VARIABLE_COLLECTIONS
                   for item in self.collections.get(name, ())):
                return
            kind = self._variable_collection(value)
        items = self.collections.get(kind)
        if items is None or any(item is value for item in items):
            return
        if index is None:
            items.append(value)
        else:
            items.insert(index, value)
        if self.on_change is not None:
            self.on_change(value, True)

    def untrack(self, value):
        """Removes `value` (or the tracked objects it holds) from the collections."""
        kind = collection_of(value)
        if kind is not None:
            names = _VARIABLE_COLLECTIONS if kind == "variables" else (kind,)
            for name in names:
                items = self.collections.get(name) or []
                for index, item in enumerate(items):
                    if item is value:
                        del items[index]
                        if self.on_change is not None:
                            self.on_change(value, False)
                        break
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.untrack(item)
        elif isinstance(value, dict):
            for item in value.values():
                self.untrack(item)


class TrackedList(list):
    """A list that tells its owners about tracked objects added or removed later."""

    def __init__(self, values=(), tracker=None):
        super().__init__(values)
        self._owners = [tracker] if tracker is not None else []

    def _tracked_items(self):
        return list(self)

    def _track(self, value):
        for tracker in self._owners:
            tracker.track(value)

    def _untrack(self, value):
        for tracker in self._owners:
            tracker.untrack(value)

    def append(self, value):
        self._track(value)
        super().append(value)

    def extend(self, values):
        values = list(values)
        for value in values:
            self._track(value)
        super().extend(values)

    def insert(self, index, value):
        self._track(value)
        super().insert(index, value)

    def __setitem__(self, index, value):
        old = self[index]
        for item in (old if isinstance(index, slice) else [old]):
            self._untrack(item)
        for item in (value if isinstance(index, slice) else [value]):
            self._track(item)
        super().__setitem__(index, value)

    def __delitem__(self, index):
        old = self[index]
        for item in (old if isinstance(index, slice) else [old]):
            self._untrack(item)
        super().__delitem__(index)

    def pop(self, index=-1):
        value = super().pop(index)
        self._untrack(value)
        return value

    def remove(self, value):
        super().remove(value)
        self._untrack(value)

    def clear(self):
        for value in self:
            self._untrack(value)
        super().clear()

    def __iadd__(self, values):
        self.extend(values)
        return self


class TrackedDict(dict):
    """A dict that tells its owners about tracked objects added or removed later."""

    def __init__(self, values=(), tracker=None):
        super().__init__(values)
        self._owners = [tracker] if tracker is not None else []

    def _tracked_items(self):
        return list(self.values())

    def __setitem__(self, key, value):
        if key in self:
            for tracker in self._owners:
                tracker.untrack(self[key])
        for tracker in self._owners:
            tracker.track(value)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        for tracker in self._owners:
            tracker.untrack(self[key])
        super().__delitem__(key)

    def pop(self, key, *default):
        if key in self:
            for tracker in self._owners:
                tracker.untrack(self[key])
        return super().pop(key, *default)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]
