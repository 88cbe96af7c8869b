//! Who may see an event: the `tags` / `targets` / `exclude` rule of upstream `publishEvent`
//! (PROTOCOL.md section 8), in one place so live delivery and replay can never disagree.

/// The recipients rule of one event, as stored with it for replay.
///
/// Targets and exclusions are client ids (the id a client chose at upgrade), not connections:
/// that is what survives a reconnect, and what upstream stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only sockets holding at least one of these tags.
    pub tags: Option<Vec<String>>,
    /// Only these client ids.
    pub targets: Option<Vec<String>>,
    /// Never these client ids.
    pub exclude: Option<Vec<String>>,
}

impl EventFilter {
    /// Whether a socket of client `client_id` whose token carries `tags` may see the event.
    pub fn admits(&self, client_id: &str, tags: Option<&[String]>) -> bool {
        self.admits_tags(tags)
            && self
                .targets
                .as_ref()
                .is_none_or(|targets| targets.iter().any(|t| t == client_id))
            && self
                .exclude
                .as_ref()
                .is_none_or(|excluded| !excluded.iter().any(|e| e == client_id))
    }

    /// The tag part of [`EventFilter::admits`]: an event with tags needs one tag in common.
    pub fn admits_tags(&self, tags: Option<&[String]>) -> bool {
        match &self.tags {
            None => true,
            Some(wanted) => tags.is_some_and(|have| have.iter().any(|tag| wanted.contains(tag))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn combines_tags_targets_and_exclusions() {
        let tags = strings(&["a", "b"]);
        let open = EventFilter::default();
        assert!(open.admits("x", None));

        let tagged = EventFilter {
            tags: strings(&["b", "c"]),
            ..EventFilter::default()
        };
        assert!(tagged.admits("x", tags.as_deref()));
        assert!(!tagged.admits("x", None));
        assert!(!tagged.admits("x", strings(&["z"]).as_deref()));

        let targeted = EventFilter {
            targets: strings(&["x"]),
            exclude: strings(&["y"]),
            ..EventFilter::default()
        };
        assert!(targeted.admits("x", None));
        assert!(!targeted.admits("y", None));
        assert!(!targeted.admits("z", None));

        let excluded = EventFilter {
            exclude: strings(&["x"]),
            ..EventFilter::default()
        };
        assert!(!excluded.admits("x", None));
        assert!(excluded.admits("y", None));
    }
}
