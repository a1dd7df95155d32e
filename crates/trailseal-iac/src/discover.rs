//! Finding the files to scan: every path given; directories walked respecting `.gitignore`
//! (and `.ignore`), skipping `.terraform/` and hidden directories; symlinks are not followed
//! (no loops).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

struct Found<T> {
    files: Vec<(PathBuf, T)>,
    errors: WalkErrors,
}

impl<T> Default for Found<T> {
    fn default() -> Self {
        Found {
            files: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// One walker thread's findings, added to the shared list when the thread is done.
struct Collector<'a, T> {
    found: Found<T>,
    into: &'a Mutex<Found<T>>,
}

impl<T> Drop for Collector<'_, T> {
    fn drop(&mut self) {
        let mut all = self.into.lock().unwrap_or_else(PoisonError::into_inner);
        all.files.append(&mut self.found.files);
        all.errors.append(&mut self.found.errors);
    }
}

/// Kinds of input trailseal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CloudFormation template candidate (`.yaml`, `.yml`, `.json`, `.template`), or a
    /// Terraform plan in JSON (`.json`); the content decides.
    CloudFormation,
    /// Terraform (`.tf`, `.tf.json`): scanned per directory (module).
    Terraform,
}

/// What `path` may be, by its name.
pub fn kind(path: &Path) -> Option<Kind> {
    if path.to_str().is_some_and(|p| p.ends_with(".tf.json")) {
        return Some(Kind::Terraform);
    }
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yaml" | "yml" | "json" | "template" => Some(Kind::CloudFormation),
        "tf" => Some(Kind::Terraform),
        _ => None,
    }
}

/// Entries the walk could not read: (path, what went wrong).
pub type WalkErrors = Vec<(PathBuf, String)>;

/// The files under `paths` that trailseal may read (see [`kind`]), sorted, each with what
/// `visit` made of it, and a walk error per unreadable entry. `visit` runs on the walker
/// threads as each file is found (so that reading the files overlaps the walk).
pub fn discover<T: Send>(
    paths: &[PathBuf],
    visit: impl Fn(&Path) -> T + Sync,
) -> (Vec<(PathBuf, T)>, WalkErrors) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        if root.is_file() {
            let value = visit(root);
            files.push((root.clone(), value));
            continue;
        }
        if !root.exists() {
            errors.push((root.clone(), "no such file or directory".to_owned()));
            continue;
        }
        // Walked on every core; the order does not matter (sorted below).
        let found = Mutex::new(Found::default());
        let visit = &visit;
        ignore::WalkBuilder::new(root)
            .follow_links(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".terraform")
            .build_parallel()
            .run(|| {
                let mut mine = Collector {
                    found: Found::default(),
                    into: &found,
                };
                Box::new(move |entry| {
                    match entry {
                        Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                            if kind(e.path()).is_some() {
                                let value = visit(e.path());
                                mine.found.files.push((e.into_path(), value));
                            }
                        }
                        Ok(_) => {}
                        Err(e) => mine.found.errors.push((root.clone(), e.to_string())),
                    }
                    ignore::WalkState::Continue
                })
            });
        let mut walked = found.into_inner().unwrap_or_else(PoisonError::into_inner);
        files.append(&mut walked.files);
        errors.append(&mut walked.errors);
    }
    sort_by_path(&mut files, |(path, _)| path);
    files.dedup_by(|a, b| a.0 == b.0);
    errors.sort();
    (files, errors)
}

/// Sorts `items` by the path `path` gives, in `Path` order (component by component), keeping
/// the order of items with equal paths.
///
/// Comparing two `Path`s splits both into components, every time: sorting the 3,000 files of
/// the bench corpus and grouping them by directory cost about 50 M instructions, on one thread
/// before the scan's workers start. So the items are first sorted by their paths' bytes with
/// the separator as the lowest byte, which is `Path` order for the paths a walk yields (no
/// `.` or `..` inside, no doubled separators), and then by `Path` order, which on sorted items
/// only confirms it (one comparison per item) and sorts any other path where it belongs.
pub fn sort_by_path<T>(items: &mut [T], path: impl Fn(&T) -> &Path) {
    items.sort_by_cached_key(|item| {
        let mut key = path(item).as_os_str().as_encoded_bytes().to_vec();
        for b in &mut key {
            if std::path::is_separator(char::from(*b)) {
                *b = 0;
            }
        }
        key
    });
    items.sort_by(|a, b| path(a).cmp(path(b)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `Path` order whatever the paths' form, every item once, and items whose paths are
        /// the same bytes in their first order (the walk's duplicates keep the first).
        #[test]
        fn paths_sort_in_path_order(
            parts in prop::collection::vec(
                prop::collection::vec(
                    prop_oneof![
                        Just("/".to_owned()),
                        Just(".".to_owned()),
                        Just("..".to_owned()),
                        Just("a".to_owned()),
                        Just("a-b".to_owned()),
                        Just("a.tf".to_owned()),
                        Just("+".to_owned()),
                        Just("é".to_owned()),
                        "[a-c.+/ -]{1,3}",
                    ],
                    1..6,
                ),
                0..24,
            )
        ) {
            let paths: Vec<(PathBuf, usize)> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| (PathBuf::from(p.concat()), i))
                .collect();
            let mut got = paths.clone();
            sort_by_path(&mut got, |(p, _)| p);
            prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "{:?}", got);
            let mut indices: Vec<usize> = got.iter().map(|(_, i)| *i).collect();
            indices.sort_unstable();
            prop_assert_eq!(indices, (0..paths.len()).collect::<Vec<_>>());
            for (i, a) in got.iter().enumerate() {
                for b in &got[i + 1..] {
                    if a.0.as_os_str() == b.0.as_os_str() {
                        prop_assert!(a.1 < b.1, "{:?}", got);
                    }
                }
            }
        }
    }
}
