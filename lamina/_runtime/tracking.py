"""Automatic tracking of what a layer owns: Variables, sublayers, metrics, seed generators.

Assigning to an attribute of a layer (`self.dense = Dense(3)`, `self.blocks = [Block(), ...]`,
`self.heads = {"a": Dense(1)}`) records the objects in the layer's collections, in assignment
order, so `weights`, `variables` and `layers` need no registration calls. Lists and dicts are
wrapped so that later `append`s and item assignments are tracked too.

What collection an object joins is declared by its class (`_lamina_tracked_as = "layers"`), so
this module needs no imports from the layers, metrics or runtime packages that define them.
"""

# Bumped whenever anything tracked changes anywhere; caches of derived lists (a model's
# variables, a compiled forward) compare against it.
_version = 0


def bump_version():
    global _version
    _version += 1


def version():
    return _version


def collection_of(value):
    """The name of the collection `value` belongs in, or None if it is not tracked."""
    return getattr(type(value), "_lamina_tracked_as", None)


class Tracker:
    """The collections of one owner: `{"variables": [...], "layers": [...], ...}`."""

    __slots__ = ("collections",)

    def __init__(self, collections):
        self.collections = collections  # {"layers": [...], "trainable_variables": [...], ...}

    def track(self, value, owner):
        """Records the trackable objects in `value`; returns the value to store (containers
        are wrapped so that they keep tracking)."""
        kind = collection_of(value)
        if kind is not None:
            self.add(kind, value)
            return value
        if isinstance(value, TrackedList) or isinstance(value, TrackedDict):
            for item in value._tracked_items():
                self.track(item, owner)
            value._owners.append(self)
            return value
        if isinstance(value, list) and not isinstance(value, TrackedList):
            if any(_contains_trackable(item) for item in value):
                wrapped = TrackedList(value, tracker=self)
                for item in wrapped:
                    self.track(item, owner)
                return wrapped
            return value
        if isinstance(value, dict) and not isinstance(value, TrackedDict):
            if any(_contains_trackable(item) for item in value.values()):
                wrapped = TrackedDict(value, tracker=self)
                for item in wrapped.values():
                    self.track(item, owner)
                return wrapped
            return value
        if isinstance(value, tuple):
            for item in value:
                self.track(item, owner)
        return value

    def add(self, kind, value):
        if kind == "variables":
            kind = "trainable_variables" if value.trainable else "non_trainable_variables"
            if any(item is value for item in self.collections["trainable_variables"]) or any(
                    item is value for item in self.collections["non_trainable_variables"]):
                return
        items = self.collections.get(kind)
        if items is None:
            return
        if not any(item is value for item in items):
            items.append(value)
            bump_version()

    def untrack(self, value):
        kind = collection_of(value)
        if kind is not None:
            kinds = (("trainable_variables", "non_trainable_variables") if kind == "variables"
                     else (kind,))
            for name in kinds:
                items = self.collections.get(name) or []
                for index, item in enumerate(items):
                    if item is value:
                        del items[index]
                        bump_version()
                        break
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.untrack(item)
        elif isinstance(value, dict):
            for item in value.values():
                self.untrack(item)


def _contains_trackable(value):
    if collection_of(value) is not None:
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_trackable(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_trackable(item) for item in value.values())
    return False


class TrackedList(list):
    """A list that tells its owning layer about layers and Variables added later."""

    def __init__(self, values=(), tracker=None):
        super().__init__(values)
        self._owners = [tracker] if tracker is not None else []

    def _tracked_items(self):
        return list(self)

    def _track(self, value):
        for tracker in self._owners:
            tracker.track(value, None)

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
    """A dict that tells its owning layer about layers and Variables added later."""

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
            tracker.track(value, None)
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
