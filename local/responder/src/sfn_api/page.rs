//! Pagination of the list operations (`ListStateMachines`, `ListExecutions`,
//! `GetExecutionHistory`): `maxResults` (absent or 0 means 100) and an opaque `nextToken`.
//!
//! A token names the last item of the page it ends, not an offset, so a page boundary stays put
//! when executions start or events are appended between two calls. It is bound to the request
//! that produced it: the API reference asks for every other argument to stay unchanged, and a
//! token from another listing, or one this endpoint never issued, is `InvalidToken`.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

use super::error::ApiError;

/// The page size when `maxResults` is absent or 0.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The page size a request asks for (`maxResults` was validated to be in `0..=1000`).
pub fn page_size(req: &Value) -> usize {
    match req.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => n as usize,
    }
}

/// One page of `items` and the token of the next one, if more items follow.
#[derive(Debug)]
pub struct Page<'a, T> {
    /// The items of this page, in listing order.
    pub items: Vec<&'a T>,
    /// The `nextToken` to answer with.
    pub next_token: Option<String>,
}

/// Pages through `items` (in listing order), keeping those `keep` accepts. `key` names an item
/// for good; `scope` is the operation and the arguments a token is bound to; `token` is the
/// request's `nextToken`.
pub fn page<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> String,
    keep: impl Fn(&T) -> bool,
    scope: &str,
    token: Option<&str>,
    size: usize,
) -> Result<Page<'a, T>, ApiError> {
    let start = match token {
        None => 0,
        Some(t) => {
            let after = redeem(scope, t)?;
            let at = items
                .iter()
                .position(|i| key(i) == after)
                .ok_or_else(ApiError::invalid_page_token)?;
            at + 1
        }
    };
    let mut matching = items[start..].iter().filter(|i| keep(i));
    let page: Vec<&T> = matching.by_ref().take(size).collect();
    let next_token = match (page.last(), matching.next()) {
        (Some(last), Some(_)) => Some(issue(scope, &key(last))),
        _ => None,
    };
    Ok(Page {
        items: page,
        next_token,
    })
}

fn check_digits(scope: &str, cursor: &str) -> String {
    let mut h = DefaultHasher::new();
    (scope, cursor).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// A token: a check over the scope and the cursor, then the cursor, all in hex.
fn issue(scope: &str, cursor: &str) -> String {
    let hex: String = cursor.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", check_digits(scope, cursor))
}

/// The cursor of a token issued for `scope`.
fn redeem(scope: &str, token: &str) -> Result<String, ApiError> {
    let invalid = ApiError::invalid_page_token;
    if token.len() < 16 || token.len() % 2 != 0 || !token.is_ascii() {
        return Err(invalid());
    }
    let (check, hex) = token.split_at(16);
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    let cursor = String::from_utf8(bytes).map_err(|_| invalid())?;
    if check_digits(scope, &cursor) != check {
        return Err(invalid());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(items: &[u32], size: usize, scope: &str) -> Vec<Vec<u32>> {
        let mut pages = Vec::new();
        let mut token = None;
        loop {
            let p = page(
                items,
                u32::to_string,
                |i| i % 2 == 0,
                scope,
                token.as_deref(),
                size,
            )
            .expect("page");
            pages.push(p.items.into_iter().copied().collect());
            token = p.next_token;
            if token.is_none() {
                return pages;
            }
        }
    }

    #[test]
    fn pages_add_up_and_the_last_one_has_no_token() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(walk(&items, 2, "s"), [vec![0, 2], vec![4, 6], vec![8]]);
        assert_eq!(walk(&items, 5, "s"), [vec![0, 2, 4, 6, 8]]);
        assert_eq!(walk(&[], 5, "s"), [Vec::<u32>::new()]);
    }

    #[test]
    fn tokens_are_bound_to_their_listing() {
        let items: Vec<u32> = (0..10).collect();
        let first = page(&items, u32::to_string, |_| true, "a", None, 3).expect("page");
        let token = first.next_token.expect("more");
        let refused = |scope: &str, token: &str| {
            page(&items, u32::to_string, |_| true, scope, Some(token), 3)
                .err()
                .map(|e| e.code)
        };
        assert_eq!(refused("a", &token), None);
        assert_eq!(refused("b", &token).as_deref(), Some("InvalidToken"));
        for bad in [
            "",
            "zz",
            "0123456789abcdef",
            "not a token at all",
            &token[1..],
        ] {
            assert_eq!(
                refused("a", bad).as_deref(),
                Some("InvalidToken"),
                "{bad:?}"
            );
        }
    }
}
