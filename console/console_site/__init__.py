"""The console's static files as a Lambda function (ConsoleFunction): GET /console and GET /console/{proxy+}."""
