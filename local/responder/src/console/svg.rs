//! Draws a laid-out [`Graph`] as inline SVG, with an execution's [`Path`] marked: every state
//! carries its mark as a class and a `data-status`, and every followed edge the class
//! `taken`. Every name is escaped.

use std::fmt::Write;

use super::escape;
use super::graph::{EdgeKind, Graph, NodeKind};
use super::path::{Mark, Path};

/// The colours of the marks and edges (the page's `<style>`).
pub const STYLE: &str = "\
.fit svg.graph{max-width:100%;height:auto}svg.graph{font-family:system-ui,sans-serif;font-size:12px;background:#fafafa;border:1px solid #ddd}\
.graph .node rect,.graph .node ellipse{stroke:#888;stroke-width:1.2;fill:#fff}\
.graph .node text{fill:#222;text-anchor:middle}.graph .node .type{fill:#666;font-size:10px}\
.graph .succeeded rect,.graph .succeeded ellipse{fill:#d7f0dc;stroke:#2e7d32}\
.graph .retried rect{fill:#fff3cd;stroke:#b7791f}\
.graph .caught rect{fill:#ffe0b2;stroke:#e65100;stroke-dasharray:4 2}\
.graph .failed rect,.graph .failed ellipse{fill:#fde0e0;stroke:#c62828;stroke-width:2.4}\
.graph .in-progress rect{fill:#dbeafe;stroke:#1d4ed8;stroke-width:2.4}\
.graph .cancelled rect{fill:#eee;stroke:#999;stroke-dasharray:2 2}\
.graph .edge{fill:none;stroke:#bbb;stroke-width:1.2}\
.graph .edge.catch{stroke-dasharray:5 3}\
.graph .edge.taken{stroke:#2e7d32;stroke-width:2.4}\
.graph .edge.catch.taken{stroke:#e65100}\
.legend span{display:inline-block;padding:.1rem .5rem;margin:0 .3rem .3rem 0;border:1px solid #888;font-size:.8rem}\
.legend .succeeded{background:#d7f0dc;border-color:#2e7d32}.legend .retried{background:#fff3cd;border-color:#b7791f}\
.legend .caught{background:#ffe0b2;border-color:#e65100}.legend .failed{background:#fde0e0;border-color:#c62828}\
.legend .in-progress{background:#dbeafe;border-color:#1d4ed8}.legend .cancelled{background:#eee}\
.legend .not-entered{background:#fff}";

/// The SVG element of `g`, marked with `path` (or unmarked, for a definition alone).
pub fn render(g: &Graph, path: Option<&Path>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"state machine graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#888\"/>\
         </marker></defs>",
        w = g.width,
        h = g.height
    );
    for (i, e) in g.edges.iter().enumerate() {
        let (a, b) = (&g.nodes[e.from], &g.nodes[e.to]);
        let taken = path.is_some_and(|p| p.took(g, i));
        let (x1, y1) = (a.x, a.y + a.height() / 2.0);
        let (x2, y2) = (b.x, b.y - b.height() / 2.0);
        let d = if e.from == e.to {
            // A state leading to itself: a loop on its right.
            let right = a.x + a.width() / 2.0;
            format!(
                "M{right:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {right:.1},{:.1}",
                a.y - 6.0,
                right + 36.0,
                a.y - 26.0,
                right + 36.0,
                a.y + 26.0,
                a.y + 6.0
            )
        } else if y2 > y1 {
            let dy = (y2 - y1) / 2.0;
            format!(
                "M{x1:.1},{y1:.1} C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
                y1 + dy,
                y2 - dy
            )
        } else {
            // Back to a state above (a loop): around the right of both nodes.
            let side = a.x.max(b.x) + a.width().max(b.width()) / 2.0 + 30.0;
            format!(
                "M{:.1},{:.1} C{side:.1},{:.1} {side:.1},{:.1} {:.1},{:.1}",
                a.x + a.width() / 2.0,
                a.y,
                a.y,
                b.y,
                b.x + b.width() / 2.0,
                b.y
            )
        };
        let mut class = String::from("edge");
        if e.kind == EdgeKind::Catch {
            class.push_str(" catch");
        }
        if taken {
            class.push_str(" taken");
        }
        let _ = write!(
            out,
            "<path class=\"{class}\" d=\"{d}\" marker-end=\"url(#arrow)\" data-from=\"{}\" data-to=\"{}\"/>",
            escape(&label_of(g, e.from)),
            escape(&label_of(g, e.to))
        );
    }
    for n in &g.nodes {
        let (x, y, w, h) = (n.x, n.y, n.width(), n.height());
        match &n.kind {
            NodeKind::Start | NodeKind::End => {
                let label = if n.kind == NodeKind::Start {
                    "Start"
                } else {
                    "End"
                };
                // Start is reached by any execution; End once it has ended, as it ended.
                let class = match path {
                    None => "",
                    Some(_) if n.kind == NodeKind::Start => " succeeded",
                    Some(p) if p.ended && p.failed => " failed",
                    Some(p) if p.ended => " succeeded",
                    Some(_) => "",
                };
                let _ = write!(
                    out,
                    "<g class=\"node terminal{class}\"><ellipse cx=\"{x:.1}\" cy=\"{y:.1}\" rx=\"{:.1}\" ry=\"{:.1}\"/>\
                     <text x=\"{x:.1}\" y=\"{:.1}\">{label}</text></g>",
                    w / 2.0,
                    h / 2.0,
                    y + 4.0
                );
            }
            NodeKind::State(ty) => {
                let mark = path.map(|p| p.mark(&n.name)).unwrap_or(Mark::NotEntered);
                let mut tip = format!("{} ({ty}): {}", n.name, mark.as_str());
                if let Some(m) = path.and_then(|p| p.states.get(&n.name)) {
                    let _ = write!(tip, ", entered {} time(s)", m.visits);
                    if m.attempts > 0 {
                        let _ = write!(tip, ", {} attempt(s)", m.attempts);
                    }
                    for (err, _) in &m.errors {
                        let _ = write!(tip, "\n{err}");
                    }
                }
                let _ = write!(
                    out,
                    "<g class=\"node state {m}\" data-state=\"{name}\" data-status=\"{m}\" data-type=\"{t}\">\
                     <title>{tip}</title>\
                     <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\"/>\
                     <text x=\"{x:.1}\" y=\"{:.1}\">{name}</text>\
                     <text class=\"type\" x=\"{x:.1}\" y=\"{:.1}\">{t}</text></g>",
                    x - w / 2.0,
                    y - h / 2.0,
                    y - 2.0,
                    y + 13.0,
                    m = mark.as_str(),
                    name = escape(&n.name),
                    t = escape(ty),
                    tip = escape(&tip),
                );
            }
            NodeKind::Join(ty) => {
                let mark = path.map(|p| p.mark(&n.name)).unwrap_or(Mark::NotEntered);
                let _ = write!(
                    out,
                    "<g class=\"node join {m}\" data-join=\"{name}\" data-status=\"{m}\">\
                     <title>end of {ty} state {name}</title>\
                     <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"9\"/>\
                     <text class=\"type\" x=\"{x:.1}\" y=\"{:.1}\">end of {name}</text></g>",
                    x - w / 2.0,
                    y - h / 2.0,
                    y + 3.5,
                    m = mark.as_str(),
                    name = escape(&n.name),
                    ty = escape(ty),
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

fn label_of(g: &Graph, i: usize) -> String {
    let n = &g.nodes[i];
    match &n.kind {
        NodeKind::Start => "(start)".into(),
        NodeKind::End => "(end)".into(),
        NodeKind::State(_) => n.name.clone(),
        NodeKind::Join(_) => format!("(end of {})", n.name),
    }
}

/// The legend of the marks.
pub fn legend() -> String {
    let mut out = String::from("<p class=\"legend\">");
    for m in Mark::ALL {
        let _ = write!(out, "<span class=\"{0}\">{0}</span>", m.as_str());
    }
    out.push_str("</p>");
    out
}
