"""AWS CDK constructs that deploy Voxline: Fargate call server in front, GPU NIMs behind it."""
