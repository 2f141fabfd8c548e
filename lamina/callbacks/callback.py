"""`Callback`: the base class whose hooks `fit`, `evaluate` and `predict` call."""

# Every hook a callback can override, grouped by the loop that calls it.
TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                     "on_batch_end")
TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")
BATCH_HOOKS = {"train": TRAIN_BATCH_HOOKS, "test": TEST_BATCH_HOOKS,
               "predict": PREDICT_BATCH_HOOKS}
HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    *TRAIN_BATCH_HOOKS, *TEST_BATCH_HOOKS, *PREDICT_BATCH_HOOKS,
)


class Callback:
    """Base class for objects that hook into `fit`, `evaluate` and `predict`.

    Subclass it and override the hooks you need; every hook does nothing by default. The
    trainer sets `self.model` (the model being trained) and `self.params` (a dict with
    `verbose`, `epochs` and `steps`) before the first hook runs.

    Batch hooks and speed: when no callback overrides a batch hook, lamina runs several
    training steps per compiled program and calls the batch hooks of its own callbacks only
    after each program, with `batch` jumping by the number of steps run (as Keras does with
    `steps_per_execution`). A callback of yours that overrides a batch hook makes the trainer
    run one step at a time, so it sees every batch.

    Examples:
        >>> class Counter(Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.epochs_seen = 0
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self.epochs_seen += 1
        >>> counter = Counter()
        >>> counter.on_train_begin(); counter.on_epoch_end(0, {"loss": 1.0})
        >>> counter.epochs_seen
        1
    """

    # Class-level defaults, so a subclass whose __init__ forgets super().__init__() works.
    params = None
    _model = None
    # Built-in callbacks set this to True in their own class body: their batch hooks cope with
    # `batch` jumping by N when the trainer runs N steps per compiled program.
    _sparse_batch_hooks = False

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Stores the loop parameters (`verbose`, `epochs`, `steps`) as `self.params`."""
        self.params = params

    def set_model(self, model):
        """Stores the model the hooks act on; it is `self.model` afterwards."""
        self._model = model

    @property
    def model(self):
        """The model being trained, with its variables up to date.

        Inside `fit` the newest weights may live in the trainer's compiled state rather than in
        the Variables; reading `self.model` asks the model to write them back first (a model
        that keeps such state offers `jax_state_sync()`, as Keras's JAX trainer does).
        """
        model = self._model
        sync = getattr(model, "jax_state_sync", None)
        if sync is not None:
            sync()
        return model

    # Hook bodies are empty on purpose; the trainer only calls them.
    def on_batch_begin(self, batch, logs=None):
        """Legacy alias of `on_train_batch_begin` (called by its default implementation)."""

    def on_batch_end(self, batch, logs=None):
        """Legacy alias of `on_train_batch_end` (called by its default implementation)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of epoch `epoch` (0-based) of `fit`."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch of `fit`, with the epoch's metric results in `logs`
        (validation results prefixed with `val_`), e.g. `{"loss": 0.2, "val_loss": 0.3}`."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before training batch `batch` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after training batch `batch`; `logs` holds the metrics aggregated so far in
        the epoch. When N steps run per compiled program, it is called every N batches."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before a batch of `evaluate` (and of validation inside `fit`)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after a batch of `evaluate`, with the metrics aggregated so far."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a batch of `predict`."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a batch of `predict`; `logs["outputs"]` holds the batch's outputs."""

    def on_train_begin(self, logs=None):
        """Called once at the start of `fit`."""

    def on_train_end(self, logs=None):
        """Called once at the end of `fit`, with the last epoch's logs."""

    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` (and of each validation run inside `fit`)."""

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate`, with its metric results."""

    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`."""

    def on_predict_end(self, logs=None):
        """Called at the end of `predict`."""


def hook_owner(callback, hook):
    """Where `callback`'s `hook` comes from: the defining class, or the callback itself when
    the hook is an instance attribute (as `LambdaCallback` sets them); None if unset."""
    instance_attributes = getattr(callback, "__dict__", {})
    if hook in instance_attributes:
        return callback if instance_attributes[hook] is not None else None
    for klass in type(callback).__mro__:
        if hook in vars(klass):
            return klass
    return None


def overrides_hook(callback, hook):
    """Whether `callback` does something in `hook` (it is not `Callback`'s empty default)."""
    return hook_owner(callback, hook) not in (None, Callback)


def listens_to_batches(callback, mode="train"):
    """Whether `callback` wants the batch hooks of `mode` at all (even every N steps): it
    overrides one of them and, for built-ins, its settings use them (`_listens_to_batches`)."""
    if not any(overrides_hook(callback, hook) for hook in BATCH_HOOKS[mode]):
        return False
    if needs_every_batch(callback, mode):
        return True  # a hook written outside the built-ins (a subclass's override, a lambda)
    declared = getattr(callback, "_listens_to_batches", None)
    return True if declared is None else bool(declared(mode))


def needs_every_batch(callback, mode="train"):
    """Whether `callback` has a batch hook of `mode` that must see every batch: one written
    outside lamina's built-ins (which declare `_sparse_batch_hooks` in their own class body)."""
    for hook in BATCH_HOOKS[mode]:
        owner = hook_owner(callback, hook)
        if owner is None or owner is Callback:
            continue
        if isinstance(owner, type) and vars(owner).get("_sparse_batch_hooks", False):
            continue
        return True
    return False
