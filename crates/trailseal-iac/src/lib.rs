//! trailseal-iac: infrastructure as code (CloudFormation today; Terraform next) turned into
//! the same evidence model the live audit collects, so that the same checks run before deploy.

pub mod yaml;
