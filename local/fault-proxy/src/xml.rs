//! Reading the XML answers of the query protocols (moto's, shaped like AWS's).

/// The text of every element named `tag` (local name, any namespace), in document order.
pub fn texts(xml: &str, tag: &str) -> Vec<String> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == tag)
        .map(|n| n.text().unwrap_or_default().trim().to_owned())
        .collect()
}

/// The text of the first element named `tag`.
pub fn first_text(xml: &str, tag: &str) -> Option<String> {
    texts(xml, tag).into_iter().next()
}

/// The child element of `node` named `tag`.
pub fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == tag)
}

/// The `<item>` (or `<member>`) children of `node`'s child `tag`: the elements of an XML list.
pub fn items<'a, 'i>(node: roxmltree::Node<'a, 'i>, tag: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    child(node, tag)
        .map(|list| {
            list.children()
                .filter(|n| n.is_element() && matches!(n.tag_name().name(), "item" | "member"))
                .collect()
        })
        .unwrap_or_default()
}

/// The text of `node`'s child `tag`.
pub fn child_text(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    child(node, tag).map(|n| n.text().unwrap_or_default().trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_ignore_namespaces() {
        let xml = r#"<CreateSecurityGroupResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><groupId>sg-123</groupId></CreateSecurityGroupResponse>"#;
        assert_eq!(texts(xml, "groupId"), ["sg-123"]);
        assert_eq!(first_text(xml, "missing"), None);
        assert!(texts("not xml", "x").is_empty());
    }

    #[test]
    fn lists() {
        let xml = "<r><set><item><a>1</a></item><item><a>2</a></item></set></r>";
        let doc = roxmltree::Document::parse(xml).expect("xml");
        let values: Vec<String> = items(doc.root_element(), "set")
            .into_iter()
            .filter_map(|i| child_text(i, "a"))
            .collect();
        assert_eq!(values, ["1", "2"]);
    }
}
