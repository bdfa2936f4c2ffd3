//! Liveness from the strongly connected components of the reachability
//! graph.
//!
//! A net is live when every transition can fire again from every reachable
//! marking, that is when every *bottom* component (one no edge leaves)
//! enables every transition: from any marking some bottom component is
//! reachable, and inside it every enabled transition stays reachable.
//!
//! The components come from an iterative Tarjan search in Pearce's
//! one-array form: `rindex[slot]` is the depth-first number of a marking
//! while it is open, lowered to the least number it reaches, and
//! [`FINISHED`] once its component is done. Edges are not stored: each frame
//! keeps the [`Enabled`](super::rules::Enabled) cursor of its marking and the
//! successors are recomputed and looked up in the visited set. A component is
//! bottom when no edge of its members reaches a finished marking (the flag is
//! carried up the tree); a bottom component is exactly the subtree of its
//! root, so "transition `t` is enabled in a member" is "the last marking seen
//! enabling `t` has a number at least the root's".

use super::layout::Layout;
use super::rules::Rules;
use super::table::Table;

const FINISHED: u32 = u32::MAX;
const ROOT: u32 = 1 << 31;
const EXIT: u32 = 1 << 30;
const CURSOR: u32 = EXIT - 1;

/// A depth-first frame: the marking's slot, its number, and its enumeration
/// cursor with the `ROOT` (no edge to an older open marking yet) and `EXIT`
/// (an edge leaves the component) flags.
#[derive(Debug, Clone, Copy)]
struct Frame {
    slot: u32,
    index: u32,
    cursor: u32,
}

/// What the search found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Liveness {
    /// Every bottom component enables every transition.
    pub(crate) live: bool,
    /// Peak bytes of the search (numbers, frames and component stack).
    pub(crate) peak_bytes: usize,
}

/// Decides liveness of the net whose reachable markings fill `table`,
/// starting from the initial marking's slot `root`.
pub(crate) fn liveness(
    layout: &Layout,
    rules: &Rules,
    table: &Table,
    root: usize,
    transitions: usize,
) -> Liveness {
    assert!(
        2 * transitions < CURSOR as usize,
        "too many transitions for the cursor"
    );
    let mut rindex = vec![0u32; table.capacity()];
    let mut last = vec![0u32; transitions];
    let mut frames: Vec<Frame> = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    let mut words = vec![0u64; layout.words()];
    let mut next = words.clone();
    let mut counter = 1u32;
    let mut peak = 0usize;
    let bytes = |frames: &Vec<Frame>, stack: &Vec<u32>| {
        4 * rindex_len(table) + 12 * frames.capacity() + 4 * stack.capacity() + 4 * transitions
    };

    rindex[root] = counter;
    frames.push(Frame {
        slot: root as u32,
        index: counter,
        cursor: ROOT,
    });
    counter += 1;
    while let Some(top) = frames.last_mut() {
        table.load(top.slot as usize, &mut words);
        let mut it = rules.resume(layout, &words, top.cursor & CURSOR);
        if let Some(t) = it.next() {
            top.cursor = (top.cursor & !CURSOR) | it.cursor();
            last[t] = top.index;
            next.copy_from_slice(&words);
            let h = rules.fire_hashed(layout, &mut next, t, layout.hash(&words));
            let w = table
                .find(&next, h)
                .expect("successors are reachable markings");
            let v = top.slot as usize;
            match rindex[w] {
                0 => {
                    rindex[w] = counter;
                    if frames.len() == frames.capacity() {
                        peak = peak.max(bytes(&frames, &stack) + 12 * frames.len());
                    }
                    frames.push(Frame {
                        slot: w as u32,
                        index: counter,
                        cursor: ROOT,
                    });
                    counter += 1;
                }
                FINISHED => top.cursor |= EXIT,
                r if r < rindex[v] => {
                    rindex[v] = r;
                    top.cursor &= !ROOT;
                }
                _ => {}
            }
            continue;
        }
        let done = frames.pop().expect("a frame");
        let v = done.slot as usize;
        if done.cursor & ROOT != 0 {
            if done.cursor & EXIT == 0 && last.iter().any(|&l| l < done.index) {
                peak = peak.max(bytes(&frames, &stack));
                return Liveness {
                    live: false,
                    peak_bytes: peak,
                };
            }
            while let Some(&s) = stack.last() {
                if rindex[s as usize] < done.index {
                    break;
                }
                rindex[s as usize] = FINISHED;
                stack.pop();
            }
            rindex[v] = FINISHED;
        } else {
            if stack.len() == stack.capacity() {
                peak = peak.max(bytes(&frames, &stack) + 4 * stack.len());
            }
            stack.push(done.slot);
        }
        if let Some(parent) = frames.last_mut() {
            if done.cursor & ROOT != 0 {
                parent.cursor |= EXIT;
            } else {
                parent.cursor |= done.cursor & EXIT;
                let p = parent.slot as usize;
                if rindex[v] < rindex[p] {
                    rindex[p] = rindex[v];
                    parent.cursor &= !ROOT;
                }
            }
        }
    }
    peak = peak.max(bytes(&frames, &stack));
    Liveness {
        live: true,
        peak_bytes: peak,
    }
}

fn rindex_len(table: &Table) -> usize {
    table.capacity()
}
