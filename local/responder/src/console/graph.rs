//! A state machine as a graph: its states, and the transitions its definition allows, read
//! from the ASL. Parallel and Map states open with their own node and close with a join
//! node; their branches' states sit between the two. The layout (layers, order, coordinates)
//! is rust-sugiyama's; [`super::svg`] draws it.

use serde_json::Value;

/// What a node stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// Where the execution starts.
    Start,
    /// Where it ends.
    End,
    /// A state (`Task`, `Choice`, ...), with its type.
    State(String),
    /// The end of a Parallel or Map state's branches.
    Join(String),
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The state's name (for a join, the name of the Parallel or Map state it closes).
    pub name: String,
    /// What it stands for.
    pub kind: NodeKind,
    /// The branch it sits in, as the names of the Parallel and Map states around it.
    pub scope: Vec<String>,
    /// Centre, once laid out.
    pub x: f64,
    /// Centre, once laid out.
    pub y: f64,
}

impl Node {
    /// Width when drawn.
    pub fn width(&self) -> f64 {
        match &self.kind {
            NodeKind::Start | NodeKind::End => 64.0,
            NodeKind::Join(_) => (self.name.chars().count() + 7) as f64 * 6.2 + 20.0,
            NodeKind::State(t) => {
                let chars = self.name.chars().count().max(t.chars().count() + 2);
                (chars as f64 * 7.2 + 28.0).max(96.0)
            }
        }
    }

    /// Height when drawn.
    pub fn height(&self) -> f64 {
        match &self.kind {
            NodeKind::Start | NodeKind::End => 28.0,
            NodeKind::Join(_) => 18.0,
            NodeKind::State(_) => 44.0,
        }
    }
}

/// How one state leads to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// `Next`, `Default`, a choice rule, or the end of a branch.
    Next,
    /// A `Catch` clause.
    Catch,
    /// Into a branch of a Parallel or Map state.
    Branch,
}

/// One edge between two nodes (indices into [`Graph::nodes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// From.
    pub from: usize,
    /// To.
    pub to: usize,
    /// How.
    pub kind: EdgeKind,
}

/// The graph of one definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// Nodes; 0 is Start and 1 is End.
    pub nodes: Vec<Node>,
    /// Edges, without duplicates.
    pub edges: Vec<Edge>,
    /// Width of the laid-out drawing.
    pub width: f64,
    /// Height of the laid-out drawing.
    pub height: f64,
}

/// Why a definition could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Not JSON, or no `StartAt` and `States`.
    #[error("the definition is not a state machine: {0}")]
    NotAStateMachine(String),
    /// A transition names a state its scope does not have.
    #[error("state {from} leads to {to}, which its scope does not define")]
    UnknownState {
        /// The state.
        from: String,
        /// The missing target.
        to: String,
    },
}

impl Graph {
    /// Reads the definition and lays it out.
    pub fn from_definition(definition: &str) -> Result<Graph, GraphError> {
        let def: Value = serde_json::from_str(definition)
            .map_err(|e| GraphError::NotAStateMachine(e.to_string()))?;
        let mut g = Graph::default();
        let start = g.add(String::new(), NodeKind::Start, &[]);
        let end = g.add(String::new(), NodeKind::End, &[]);
        g.scope(&def, start, end, &[])?;
        g.layout();
        Ok(g)
    }

    fn add(&mut self, name: String, kind: NodeKind, scope: &[String]) -> usize {
        self.nodes.push(Node {
            name,
            kind,
            scope: scope.to_vec(),
            x: 0.0,
            y: 0.0,
        });
        self.nodes.len() - 1
    }

    fn connect(&mut self, from: usize, to: usize, kind: EdgeKind) {
        let e = Edge { from, to, kind };
        if !self.edges.contains(&e) {
            self.edges.push(e);
        }
    }

    /// Adds the states of one scope (the machine, or a branch): `entry` leads to its
    /// `StartAt`, and its terminal states lead to `exit`.
    fn scope(
        &mut self,
        def: &Value,
        entry: usize,
        exit: usize,
        scope: &[String],
    ) -> Result<(), GraphError> {
        let (Some(start_at), Some(states)) = (
            def.get("StartAt").and_then(Value::as_str),
            def.get("States").and_then(Value::as_object),
        ) else {
            return Err(GraphError::NotAStateMachine(
                "StartAt and States are required".into(),
            ));
        };
        // Each state's node, and the node its outgoing transitions leave from (a Parallel or
        // Map state's join node).
        let mut ids = std::collections::HashMap::new();
        for (name, state) in states {
            let ty = state
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let id = self.add(name.clone(), NodeKind::State(ty.clone()), scope);
            let out = match ty.as_str() {
                "Parallel" | "Map" => {
                    let join = self.add(name.clone(), NodeKind::Join(ty.clone()), scope);
                    let mut inner = scope.to_vec();
                    inner.push(name.clone());
                    let branches: Vec<&Value> = if ty == "Parallel" {
                        state
                            .get("Branches")
                            .and_then(Value::as_array)
                            .map(|b| b.iter().collect())
                            .unwrap_or_default()
                    } else {
                        state
                            .get("ItemProcessor")
                            .or_else(|| state.get("Iterator"))
                            .into_iter()
                            .collect()
                    };
                    for b in branches {
                        self.scope(b, id, join, &inner)?;
                    }
                    join
                }
                _ => id,
            };
            ids.insert(name.as_str(), (id, out));
        }
        let node = |name: &str, from: &str| {
            ids.get(name)
                .map(|(id, _)| *id)
                .ok_or(GraphError::UnknownState {
                    from: from.to_string(),
                    to: name.to_string(),
                })
        };
        let first = node(start_at, "StartAt")?;
        self.connect(entry, first, EdgeKind::Branch);
        for (name, state) in states {
            let out = ids[name.as_str()].1;
            let ty = state.get("Type").and_then(Value::as_str).unwrap_or("");
            let mut targets: Vec<&str> = Vec::new();
            if let Some(n) = state.get("Next").and_then(Value::as_str) {
                targets.push(n);
            }
            if let Some(n) = state.get("Default").and_then(Value::as_str) {
                targets.push(n);
            }
            for rule in state
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = rule.get("Next").and_then(Value::as_str) {
                    targets.push(n);
                }
            }
            for t in targets {
                let to = node(t, name)?;
                self.connect(out, to, EdgeKind::Next);
            }
            for c in state
                .get("Catch")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = c.get("Next").and_then(Value::as_str) {
                    let to = node(n, name)?;
                    self.connect(out, to, EdgeKind::Catch);
                }
            }
            let terminal = matches!(ty, "Succeed" | "Fail")
                || state.get("End").and_then(Value::as_bool) == Some(true);
            if terminal {
                self.connect(out, exit, EdgeKind::Next);
            }
        }
        Ok(())
    }

    /// Places the nodes with rust-sugiyama (layers top to bottom), leaving a margin.
    fn layout(&mut self) {
        use rust_sugiyama::configure::Config;
        const MARGIN: f64 = 16.0;
        const COMPONENT_GAP: f64 = 48.0;
        let vertices: Vec<(u32, (f64, f64))> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u32, (n.width(), n.height() + 26.0)))
            .collect();
        // The layers follow the normal flow: Catch edges, which mostly lead from many states
        // to a few failure handlers, would stretch every layer; they are drawn over it.
        let edges: Vec<(u32, u32)> = self
            .edges
            .iter()
            .filter(|e| e.kind != EdgeKind::Catch && e.from != e.to)
            .map(|e| (e.from as u32, e.to as u32))
            .collect();
        let config = Config {
            vertex_spacing: 36.0,
            ..Config::default()
        };
        // A state leading to itself is drawn as a loop, not laid out: the layout's cycle
        // removal leaves self-loops in place and then asserts the graph is acyclic. Should it
        // panic on another shape, the states are stacked in definition order instead.
        let layouts = std::panic::catch_unwind(|| {
            rust_sugiyama::from_vertices_and_edges(&vertices, &edges, &config)
        })
        .unwrap_or_else(|_| {
            let mut y = 0.0;
            vec![(
                vertices
                    .iter()
                    .map(|(i, (_, h))| {
                        y += h;
                        (*i as usize, (0.0, y - h))
                    })
                    .collect(),
                0.0,
                0.0,
            )]
        });
        // Components side by side (a well-formed definition has one).
        let mut offset = MARGIN;
        let mut height: f64 = 0.0;
        for (coords, _, _) in layouts {
            let min_x = coords
                .iter()
                .map(|(i, (x, _))| x - self.nodes[*i].width() / 2.0)
                .fold(f64::INFINITY, f64::min);
            let mut right: f64 = offset;
            for (i, (x, y)) in coords {
                let n = &mut self.nodes[i];
                n.x = x - min_x + offset;
                n.y = y + MARGIN + n.height() / 2.0;
                right = right.max(n.x + n.width() / 2.0);
                height = height.max(n.y + n.height() / 2.0);
            }
            offset = right + COMPONENT_GAP;
        }
        // Room on the right for loops and edges back up, drawn beside the nodes.
        self.width = (offset - COMPONENT_GAP + MARGIN + 40.0).max(2.0 * MARGIN);
        self.height = height + MARGIN;
    }

    /// The part of the graph `keep` accepts (by node index), with the edges between the kept
    /// nodes, laid out afresh. Start and End are always kept.
    pub fn subgraph(&self, keep: impl Fn(usize) -> bool) -> Graph {
        let mut index = vec![None; self.nodes.len()];
        let mut g = Graph::default();
        for (i, n) in self.nodes.iter().enumerate() {
            if keep(i) || matches!(n.kind, NodeKind::Start | NodeKind::End) {
                index[i] = Some(g.nodes.len());
                g.nodes.push(n.clone());
            }
        }
        for e in &self.edges {
            if let (Some(from), Some(to)) = (index[e.from], index[e.to]) {
                g.edges.push(Edge {
                    from,
                    to,
                    kind: e.kind,
                });
            }
        }
        g.layout();
        g
    }

    /// The nodes that stand for the state `name` (its own node, and its join node).
    pub fn nodes_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| {
                matches!(n.kind, NodeKind::State(_) | NodeKind::Join(_)) && n.name == name
            })
            .map(|(i, _)| i)
    }
}
