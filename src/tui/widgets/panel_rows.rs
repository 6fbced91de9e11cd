//! How a panel's height is shared among its metrics: the rows that matter
//! first, then the charts. Pure.

/// Rows per metric (in the config's order) out of `height`. When rows are
/// short, the rows that matter go first, so an OK row is dropped before a
/// WARN or BREACH row: first one row each by rank, then the rest of each
/// metric's text by rank, then what is left for the charts: all of it to
/// the `picked` metric when it is on screen, else evenly.
pub fn allocate_rows(height: u16, needs: &[u16], ranks: &[u8], picked: Option<usize>) -> Vec<u16> {
    let n = needs.len().min(ranks.len());
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal ranks keep the usual order.
    order.sort_by_key(|&i| std::cmp::Reverse(ranks[i]));
    let mut rows = vec![0u16; n];
    let mut left = height;
    for &i in &order {
        if left > 0 && needs[i] > 0 {
            rows[i] = 1;
            left -= 1;
        }
    }
    for &i in &order {
        let more = needs[i].saturating_sub(rows[i]).min(left);
        rows[i] += more;
        left -= more;
    }
    // Charts: the rest, shared by the measured metrics on screen.
    let mut charted: Vec<usize> = (0..n).filter(|&i| rows[i] > 0 && ranks[i] > 0).collect();
    if let Some(p) = picked.filter(|p| charted.contains(p)) {
        charted = vec![p];
    }
    if !charted.is_empty() {
        let share = left / charted.len() as u16;
        let mut extra = left % charted.len() as u16;
        for &i in &charted {
            rows[i] += share + u16::from(extra > 0);
            extra = extra.saturating_sub(1);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::allocate_rows;

    #[test]
    fn short_panels_drop_ok_rows_before_breach_rows() {
        // p99 OK (rank 1), error rate BREACH (rank 4), quality OK.
        assert_eq!(allocate_rows(2, &[2, 2, 2], &[1, 4, 1], None), [1, 1, 0]);
        assert_eq!(allocate_rows(1, &[2, 2, 2], &[1, 4, 1], None), [0, 1, 0]);
        assert_eq!(allocate_rows(3, &[2, 2, 2], &[1, 4, 1], None), [1, 1, 1]);
        assert_eq!(allocate_rows(4, &[2, 2, 2], &[1, 4, 1], None), [1, 2, 1]);
        // Enough for all text: the rest is shared for charts.
        assert_eq!(allocate_rows(12, &[2, 2, 2], &[1, 4, 1], None), [4, 4, 4]);
        // Not measured comes last and gets no chart rows.
        assert_eq!(allocate_rows(2, &[2, 2, 1], &[1, 1, 0], None), [1, 1, 0]);
        assert_eq!(allocate_rows(9, &[2, 2, 1], &[1, 1, 0], None), [4, 4, 1]);
        assert_eq!(allocate_rows(0, &[2, 2, 2], &[1, 1, 1], None), [0, 0, 0]);
        // A picked metric gets every chart row; one off screen, none.
        assert_eq!(
            allocate_rows(12, &[2, 2, 2], &[1, 4, 1], Some(2)),
            [2, 2, 8]
        );
        assert_eq!(allocate_rows(2, &[2, 2, 2], &[1, 4, 1], Some(2)), [1, 1, 0]);
        // Any number of metrics: the breach and the warning stay.
        let ranks = [1, 1, 1, 4, 1, 3, 1];
        assert_eq!(
            allocate_rows(3, &[3; 7], &ranks, None),
            [1, 0, 0, 1, 0, 1, 0]
        );
    }
}
