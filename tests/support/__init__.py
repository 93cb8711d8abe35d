"""What several test folders share: the moto world, the environment fixture, the common statements, the IAM
evaluator."""
