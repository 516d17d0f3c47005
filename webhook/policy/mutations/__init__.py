"""The built-in mutators, one module per mutator. Importing this package registers them all."""
