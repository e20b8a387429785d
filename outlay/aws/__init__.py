"""The boto3 side of Outlay: describe what runs and read CloudWatch, for every service that needs it."""
