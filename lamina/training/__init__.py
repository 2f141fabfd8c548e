"""Training: `compile/fit/evaluate/predict` (the `Trainer` mixed into `Model`) and data."""

from lamina.training.trainer import Trainer as Trainer
