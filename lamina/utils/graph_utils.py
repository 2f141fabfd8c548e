"""`keras.utils.is_keras_tensor` and `keras.utils.get_source_inputs`: questions about the
symbolic tensors of the functional API."""

from lamina.layers.symbolic import KerasTensor


def is_keras_tensor(x):
    """Whether `x` is a symbolic tensor (from `keras.Input` or a layer called on one): a
    shape and dtype with no values, for building functional models.

    Examples:
        >>> inputs = lamina.Input((3,))
        >>> lamina.utils.is_keras_tensor(inputs), lamina.utils.is_keras_tensor(np.ones(3))
        (True, False)
    """
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The `keras.Input` tensors that `tensor` is computed from, as a list without repeats.

    Examples:
        >>> a, b = lamina.Input((3,), name="a"), lamina.Input((3,), name="b")
        >>> total = lamina.layers.Add()([a, lamina.layers.Dense(3)(b)])
        >>> [t.name for t in lamina.utils.get_source_inputs(total)]
        ['a', 'b']
    """
    if not isinstance(tensor, KerasTensor):
        raise TypeError(
            "get_source_inputs expects a symbolic tensor (from keras.Input or a layer called "
            f"on one). Received: tensor of type {type(tensor).__name__}")
    sources, seen = [], set()
    pending = [tensor]
    visited = set()
    # Depth first, inputs in call order, as Keras's recursion lists them; a stack instead of
    # recursion so that deep graphs do not reach Python's recursion limit.
    while pending:
        current = pending.pop()
        history = current._keras_history
        if history is None or not history.operation._inbound_nodes:
            found = [current]
        else:
            node = history.operation._inbound_nodes[history.node_index]
            if node.is_input:
                found = list(node.output_tensors)
            else:
                if id(node) not in visited:
                    visited.add(id(node))
                    pending.extend(reversed(node.input_tensors))
                continue
        for source in found:
            if id(source) not in seen:
                seen.add(id(source))
                sources.append(source)
    return sources
