//! The stack `trailseal monitor --emit cloudformation|terraform` writes: trailseal as a Lambda
//! function (`provided.al2023`, the binary is its `bootstrap`), an AWS Config custom rule on
//! `AWS::CloudTrail::Trail` (on every configuration change, and periodically), an EventBridge
//! rule on the CloudTrail and KMS calls that can break the control, and an SNS topic for
//! regressions. Both renderings come from one [`Stack`], so they hold the same resources and
//! the same permissions (a test compares them).
//!
//! The function's role: the read-only actions of `trailseal audit` (README, "Permissions";
//! `s3:GetObject`, used for the metadata of delivered log files, only on `*/AWSLogs/*`), plus
//! `config:PutEvaluations` and `config:ListDiscoveredResources` (which trails Config records,
//! for the periodic evaluation; neither takes a resource ARN), `config:StartConfigRulesEvaluation`
//! on its own rule (re-evaluate at once after a key or bucket change), `sns:Publish` on the topic
//! only, and writing its own log group. An invocation that still fails after Lambda's two
//! retries goes to the topic (an on-failure destination), so nothing is dropped silently.

use std::fmt::Write;

/// What the stack is made of: passed in by the caller (the AWS crate owns the lists).
pub struct Stack<'a> {
    /// The audit's read-only actions.
    pub read_actions: &'a [&'a str],
    /// CloudTrail API calls the EventBridge rule matches.
    pub cloudtrail_events: &'a [&'a str],
    /// KMS API calls the EventBridge rule matches.
    pub kms_events: &'a [&'a str],
    /// S3 API calls the EventBridge rule matches.
    pub s3_events: &'a [&'a str],
}

/// Read only on the log files' paths, not on `*` (the collector reads delivered log files'
/// metadata; CloudTrail writes every file under `AWSLogs/`).
const LOG_OBJECT_ACTION: &str = "s3:GetObject";

/// Fixed names: one monitor per account and Region.
pub const FUNCTION_NAME: &str = "trailseal-monitor";
pub const RULE_NAME: &str = "trailseal-cloudtrail-encryption";
pub const EVENT_RULE_NAME: &str = "trailseal-control-changes";
pub const TOPIC_NAME: &str = "trailseal-monitor";

/// Re-evaluating the rule after a key or bucket change (on the stack's rule only).
const START_ACTION: &str = "config:StartConfigRulesEvaluation";

/// The actions the function reports with (besides reading).
pub const REPORT_ACTIONS: &[&str] = &["config:PutEvaluations", "config:ListDiscoveredResources"];

/// The periodic evaluation's frequencies AWS Config accepts.
const FREQUENCIES: &[&str] = &[
    "One_Hour",
    "Three_Hours",
    "Six_Hours",
    "Twelve_Hours",
    "TwentyFour_Hours",
];

const DESCRIPTION: &str = "trailseal: CloudTrail logs are encrypted with SSE-KMS under a \
customer-managed key CloudTrail can use (TS001-TS016); re-checked on every change";

fn quoted(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| format!("\"{s}\"")).collect()
}

impl Stack<'_> {
    /// Every action the role allows on `*`, sorted.
    pub fn wildcard_actions(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .read_actions
            .iter()
            .chain(REPORT_ACTIONS)
            .copied()
            .filter(|a| *a != LOG_OBJECT_ACTION)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    fn event_pattern_json(&self, indent: &str) -> String {
        let names: Vec<String> = quoted(
            &self
                .cloudtrail_events
                .iter()
                .chain(self.kms_events)
                .chain(self.s3_events)
                .copied()
                .collect::<Vec<_>>(),
        );
        format!(
            "{{\n{indent}  \"source\": [\"aws.cloudtrail\", \"aws.kms\", \"aws.s3\"],\n{indent}  \"detail-type\": [\"AWS API Call via CloudTrail\"],\n{indent}  \"detail\": {{\n{indent}    \"eventSource\": [\"cloudtrail.amazonaws.com\", \"kms.amazonaws.com\", \"s3.amazonaws.com\"],\n{indent}    \"eventName\": [{}]\n{indent}  }}\n{indent}}}",
            names.join(", ")
        )
    }

    /// The CloudFormation template (YAML).
    pub fn cloudformation(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "AWSTemplateFormatVersion: \"2010-09-09\"");
        let _ = writeln!(t, "Description: >-\n  {DESCRIPTION}. Written by `trailseal monitor --emit cloudformation`.");
        t.push_str(&format!(
            r#"Parameters:
  CodeBucket:
    Type: String
    Description: The S3 bucket holding the function's zip (scripts/build-lambda.sh builds it), in this Region.
  CodeKey:
    Type: String
    Default: trailseal-lambda.zip
    Description: The zip's object key.
  Architecture:
    Type: String
    Default: x86_64
    AllowedValues: [x86_64, arm64]
    Description: The architecture the zip was built for.
  Regions:
    Type: String
    Default: ""
    Description: Regions to read, comma-separated (empty, every Region enabled for the account).
  TrustedAccounts:
    Type: String
    Default: ""
    AllowedPattern: "^([0-9]{{12}}(,[0-9]{{12}})*)?$"
    Description: Accounts meant to read the logs besides their own (TS015), comma-separated 12-digit ids.
  FailOn:
    Type: String
    Default: high
    AllowedValues: [info, low, medium, high, critical]
    Description: The lowest severity of a failing check that makes a trail NON_COMPLIANT.
  EvaluationFrequency:
    Type: String
    Default: TwentyFour_Hours
    AllowedValues: [{frequencies}]
    Description: How often AWS Config re-evaluates every trail besides on each change.
  NotificationEmail:
    Type: String
    Default: ""
    Description: An address subscribed to the regression topic (empty, none).
Conditions:
  HasEmail: !Not [!Equals [!Ref NotificationEmail, ""]]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: {TOPIC_NAME}
      KmsMasterKeyId: alias/aws/sns
  EmailSubscription:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties:
      TopicArn: !Ref Topic
      Protocol: email
      Endpoint: !Ref NotificationEmail
  LogGroup:
    Type: AWS::Logs::LogGroup
    # Deleted with the stack, as `terraform destroy` does: a retained group of this fixed
    # name would make the next deployment fail ("already exists").
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: /aws/lambda/{FUNCTION_NAME}
      RetentionInDays: 365
  Role:
    Type: AWS::IAM::Role
    Properties:
      Description: trailseal monitor, read-only plus reporting to AWS Config and SNS
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                aws:SourceAccount: !Ref AWS::AccountId
      Policies:
        - PolicyName: trailseal-read-and-report
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: ReadOnlyAuditAndConfigEvaluations
                Effect: Allow
                Action:
{actions}
                Resource: "*"
              - Sid: ReadLogFileMetadata
                Effect: Allow
                Action: {LOG_OBJECT_ACTION}
                Resource: !Sub "arn:${{AWS::Partition}}:s3:::*/AWSLogs/*"
              - Sid: NotifyRegressions
                Effect: Allow
                Action: sns:Publish
                Resource: !Ref Topic
              - Sid: WriteOwnLogs
                Effect: Allow
                Action:
                  - logs:CreateLogStream
                  - logs:PutLogEvents
                Resource: !GetAtt LogGroup.Arn
  Function:
    Type: AWS::Lambda::Function
    DependsOn: LogGroup
    Properties:
      FunctionName: {FUNCTION_NAME}
      Description: trailseal re-checks CloudTrail encryption on AWS Config and EventBridge events
      Runtime: provided.al2023
      Handler: bootstrap
      Architectures: [!Ref Architecture]
      Code:
        S3Bucket: !Ref CodeBucket
        S3Key: !Ref CodeKey
      Role: !GetAtt Role.Arn
      MemorySize: 512
      Timeout: 300
      Environment:
        Variables:
          TRAILSEAL_SNS_TOPIC_ARN: !Ref Topic
          TRAILSEAL_CONFIG_RULE_NAME: {RULE_NAME}
          TRAILSEAL_REGIONS: !Ref Regions
          TRAILSEAL_TRUSTED_ACCOUNTS: !Ref TrustedAccounts
          TRAILSEAL_FAIL_ON: !Ref FailOn
  FailedInvocations:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Function
      Qualifier: $LATEST
      MaximumRetryAttempts: 2
      DestinationConfig:
        OnFailure:
          Destination: !Ref Topic
  ReEvaluatePolicy:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: !Ref Role
      PolicyName: trailseal-re-evaluate
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: ReEvaluateOwnRule
            Effect: Allow
            Action: {START_ACTION}
            Resource: !GetAtt ConfigRule.Arn
  ConfigPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Function.Arn
      Action: lambda:InvokeFunction
      Principal: config.amazonaws.com
      SourceAccount: !Ref AWS::AccountId
  ConfigRule:
    Type: AWS::Config::ConfigRule
    DependsOn: ConfigPermission
    Properties:
      ConfigRuleName: {RULE_NAME}
      Description: >-
        {DESCRIPTION}
      Scope:
        ComplianceResourceTypes:
          - AWS::CloudTrail::Trail
      Source:
        Owner: CUSTOM_LAMBDA
        SourceIdentifier: !GetAtt Function.Arn
        SourceDetails:
          - EventSource: aws.config
            MessageType: ConfigurationItemChangeNotification
          - EventSource: aws.config
            MessageType: OversizedConfigurationItemChangeNotification
          - EventSource: aws.config
            MessageType: ScheduledNotification
            MaximumExecutionFrequency: !Ref EvaluationFrequency
  EventRule:
    Type: AWS::Events::Rule
    Properties:
      Name: {EVENT_RULE_NAME}
      Description: CloudTrail and KMS calls that can break CloudTrail log encryption
      State: ENABLED
      EventPattern: {pattern}
      Targets:
        - Arn: !GetAtt Function.Arn
          Id: trailseal-monitor
  EventsPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Function.Arn
      Action: lambda:InvokeFunction
      Principal: events.amazonaws.com
      SourceArn: !GetAtt EventRule.Arn
Outputs:
  TopicArn:
    Description: Where regressions are published.
    Value: !Ref Topic
  FunctionArn:
    Value: !GetAtt Function.Arn
  ConfigRuleName:
    Value: !Ref ConfigRule
"#,
            frequencies = FREQUENCIES.join(", "),
            actions = self
                .wildcard_actions()
                .iter()
                .map(|a| format!("                  - {a}"))
                .collect::<Vec<_>>()
                .join("\n"),
            pattern = self.event_pattern_json("        "),
        ));
        t
    }

    /// The Terraform configuration (HCL, AWS provider 5 or later).
    pub fn terraform(&self) -> String {
        let actions = quoted(&self.wildcard_actions()).join(",\n          ");
        format!(
            r#"# {DESCRIPTION}.
# Written by `trailseal monitor --emit terraform`; the same resources and permissions as
# `trailseal monitor --emit cloudformation`.

terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }}
  }}
}}

variable "code_file" {{
  description = "The function's zip (scripts/build-lambda.sh builds it)."
  type        = string
  default     = "trailseal-lambda.zip"
}}

variable "architecture" {{
  description = "The architecture the zip was built for: x86_64 or arm64."
  type        = string
  default     = "x86_64"
  validation {{
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "x86_64 or arm64."
  }}
}}

variable "regions" {{
  description = "Regions to read, comma-separated (empty, every Region enabled for the account)."
  type        = string
  default     = ""
}}

variable "trusted_accounts" {{
  description = "Accounts meant to read the logs besides their own (TS015), comma-separated 12-digit ids."
  type        = string
  default     = ""
  validation {{
    condition     = can(regex("^([0-9]{{12}}(,[0-9]{{12}})*)?$", var.trusted_accounts))
    error_message = "Comma-separated 12-digit account ids, or empty."
  }}
}}

variable "fail_on" {{
  description = "The lowest severity of a failing check that makes a trail NON_COMPLIANT."
  type        = string
  default     = "high"
  validation {{
    condition     = contains(["info", "low", "medium", "high", "critical"], var.fail_on)
    error_message = "One of info, low, medium, high, critical."
  }}
}}

variable "evaluation_frequency" {{
  description = "How often AWS Config re-evaluates every trail besides on each change."
  type        = string
  default     = "TwentyFour_Hours"
  validation {{
    condition     = contains([{frequencies_quoted}], var.evaluation_frequency)
    error_message = "One of {frequencies}."
  }}
}}

variable "notification_email" {{
  description = "An address subscribed to the regression topic (empty, none)."
  type        = string
  default     = ""
}}

data "aws_caller_identity" "current" {{}}

data "aws_partition" "current" {{}}

resource "aws_sns_topic" "topic" {{
  name              = "{TOPIC_NAME}"
  kms_master_key_id = "alias/aws/sns"
}}

resource "aws_sns_topic_subscription" "email" {{
  count     = var.notification_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.topic.arn
  protocol  = "email"
  endpoint  = var.notification_email
}}

resource "aws_cloudwatch_log_group" "log_group" {{
  name              = "/aws/lambda/{FUNCTION_NAME}"
  retention_in_days = 365
}}

resource "aws_iam_role" "role" {{
  name_prefix = "{FUNCTION_NAME}-"
  description = "trailseal monitor, read-only plus reporting to AWS Config and SNS"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Service = "lambda.amazonaws.com" }}
      Action    = "sts:AssumeRole"
      Condition = {{ StringEquals = {{ "aws:SourceAccount" = data.aws_caller_identity.current.account_id }} }}
    }}]
  }})
}}

resource "aws_iam_role_policy" "read_and_report" {{
  name = "trailseal-read-and-report"
  role = aws_iam_role.role.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Sid    = "ReadOnlyAuditAndConfigEvaluations"
        Effect = "Allow"
        Action = [
          {actions}
        ]
        Resource = "*"
      }},
      {{
        Sid      = "ReadLogFileMetadata"
        Effect   = "Allow"
        Action   = "{LOG_OBJECT_ACTION}"
        Resource = "arn:${{data.aws_partition.current.partition}}:s3:::*/AWSLogs/*"
      }},
      {{
        Sid      = "NotifyRegressions"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = aws_sns_topic.topic.arn
      }},
      {{
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${{aws_cloudwatch_log_group.log_group.arn}}:*"
      }},
    ]
  }})
}}

resource "aws_lambda_function" "function" {{
  function_name                  = "{FUNCTION_NAME}"
  description                    = "trailseal re-checks CloudTrail encryption on AWS Config and EventBridge events"
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.architecture]
  filename                       = var.code_file
  source_code_hash               = filebase64sha256(var.code_file)
  role                           = aws_iam_role.role.arn
  memory_size                    = 512
  timeout                        = 300
  environment {{
    variables = {{
      TRAILSEAL_SNS_TOPIC_ARN    = aws_sns_topic.topic.arn
      TRAILSEAL_CONFIG_RULE_NAME = "{RULE_NAME}"
      TRAILSEAL_REGIONS          = var.regions
      TRAILSEAL_TRUSTED_ACCOUNTS = var.trusted_accounts
      TRAILSEAL_FAIL_ON          = var.fail_on
    }}
  }}
  depends_on = [aws_cloudwatch_log_group.log_group, aws_iam_role_policy.read_and_report]
}}

resource "aws_lambda_function_event_invoke_config" "failed_invocations" {{
  function_name          = aws_lambda_function.function.function_name
  qualifier              = "$LATEST"
  maximum_retry_attempts = 2
  destination_config {{
    on_failure {{
      destination = aws_sns_topic.topic.arn
    }}
  }}
}}

resource "aws_iam_role_policy" "re_evaluate" {{
  name = "trailseal-re-evaluate"
  role = aws_iam_role.role.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Sid      = "ReEvaluateOwnRule"
      Effect   = "Allow"
      Action   = "{START_ACTION}"
      Resource = aws_config_config_rule.rule.arn
    }}]
  }})
}}

resource "aws_lambda_permission" "config" {{
  statement_id   = "AllowConfig"
  function_name  = aws_lambda_function.function.arn
  action         = "lambda:InvokeFunction"
  principal      = "config.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}}

resource "aws_config_config_rule" "rule" {{
  name        = "{RULE_NAME}"
  description = "{DESCRIPTION}"
  scope {{
    compliance_resource_types = ["AWS::CloudTrail::Trail"]
  }}
  source {{
    owner             = "CUSTOM_LAMBDA"
    source_identifier = aws_lambda_function.function.arn
    source_detail {{
      event_source = "aws.config"
      message_type = "ConfigurationItemChangeNotification"
    }}
    source_detail {{
      event_source = "aws.config"
      message_type = "OversizedConfigurationItemChangeNotification"
    }}
    source_detail {{
      event_source                = "aws.config"
      message_type                = "ScheduledNotification"
      maximum_execution_frequency = var.evaluation_frequency
    }}
  }}
  depends_on = [aws_lambda_permission.config]
}}

resource "aws_cloudwatch_event_rule" "event_rule" {{
  name          = "{EVENT_RULE_NAME}"
  description   = "CloudTrail and KMS calls that can break CloudTrail log encryption"
  state         = "ENABLED"
  event_pattern = <<-PATTERN
    {pattern}
  PATTERN
}}

resource "aws_cloudwatch_event_target" "function" {{
  rule      = aws_cloudwatch_event_rule.event_rule.name
  target_id = "trailseal-monitor"
  arn       = aws_lambda_function.function.arn
}}

resource "aws_lambda_permission" "events" {{
  statement_id  = "AllowEventBridge"
  function_name = aws_lambda_function.function.arn
  action        = "lambda:InvokeFunction"
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.event_rule.arn
}}

output "topic_arn" {{
  description = "Where regressions are published."
  value       = aws_sns_topic.topic.arn
}}

output "function_arn" {{
  value = aws_lambda_function.function.arn
}}

output "config_rule_name" {{
  value = aws_config_config_rule.rule.name
}}
"#,
            frequencies = FREQUENCIES.join(", "),
            frequencies_quoted = quoted(FREQUENCIES).join(", "),
            pattern = self.event_pattern_json("    "),
        )
    }
}
