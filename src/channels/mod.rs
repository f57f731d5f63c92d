//! Delivery channels (DESIGN §8), one module each. Only the desktop channel is here so far;
//! webhook, Slack, e-mail and push come with the delivery work.

pub mod desktop;
