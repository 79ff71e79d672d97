"""Forman gradient vector fields on a cubical complex, and Morse cancellation.

A discrete gradient vector field V is a matching of cells with cofacets: each pair
``(alpha, beta)`` has ``alpha`` a facet of ``beta`` (we write ``V(alpha) = beta``),
and each cell is in at most one pair. Unmatched cells are *critical*. A *V-path* of
dimension p is a sequence

    beta_0 > alpha_1, V(alpha_1) = beta_1 > alpha_2, ..., V(alpha_k-1) = beta_k-1 > alpha_k

of (p+1)-cells ``beta_i`` and p-cells ``alpha_i``, each ``alpha_i+1`` a facet of
``beta_i`` other than ``alpha_i``. The matching is a gradient field exactly when it has
no closed V-path [1]_. Equivalently: orient the Hasse diagram so that matched pairs point
up and every other face relation points down; V is a gradient when that directed graph
is acyclic. V-paths from a critical (p+1)-cell to a critical p-cell are paths in it.

*Morse cancellation* [1]_: if exactly one V-path joins a critical (p+1)-cell ``tau`` to a
critical p-cell ``sigma``, reversing it (pairing each ``alpha_i`` with ``beta_i-1`` and
``sigma`` with the last ``beta``) gives a new gradient field in which ``sigma`` and
``tau`` are no longer critical. With more than one path, reversal would close a loop.

This module keeps the matching in two dictionaries and builds networkx graphs only to
show (and check) the idea; counting paths is a memoised depth-first search, O(size of
the part of the complex reachable from ``tau``).

References
----------
.. [1] R. Forman, "Morse theory for cell complexes", Advances in Mathematics 134 (1998).
.. [2] R. Forman, "A user's guide to discrete Morse theory", Seminaire Lotharingien de
   Combinatoire 48 (2002).
"""

import networkx as nx

__all__ = ["GradientField"]


class GradientField:
    """A discrete gradient vector field on a :class:`CubicalComplex`.

    It starts with every cell critical (the empty matching).

    Parameters
    ----------
    cx : CubicalComplex

    Examples
    --------
    >>> from dmtloss.reference.complex import CubicalComplex
    >>> field = GradientField(CubicalComplex([[1.0, 0.0]]*2))
    >>> field.count_vpaths((0, 1), (0, 2))
    1
    >>> field.cancel((0, 2), (0, 1))
    >>> field.partner((0, 2)), field.is_critical((0, 1))
    ((0, 1), False)
    """

    def __init__(self, cx):
        self.cx = cx
        self.up = {}  # alpha -> V(alpha), the cofacet it is matched with
        self.down = {}  # beta -> alpha with V(alpha) = beta

    def is_critical(self, cell):
        """Whether `cell` is unmatched."""
        return cell not in self.up and cell not in self.down

    def partner(self, cell):
        """The cell matched with `cell`, or None if it is critical."""
        return self.up.get(cell, self.down.get(cell))

    def critical_cells(self):
        """All critical cells, in filtration order.

        Examples
        --------
        >>> from dmtloss.reference.complex import CubicalComplex
        >>> len(GradientField(CubicalComplex([[1, 2], [3, 4]])).critical_cells())
        9
        """
        return [c for c in self.cx.filtration() if self.is_critical(c)]

    def _next_cells(self, beta, sigma=None):
        """The (p+1)-cells a V-path entering ``beta`` can go to next, and its ends.

        Returns ``(ends, nexts)``: how many facets of ``beta`` equal ``sigma`` (the path
        may stop there), and the cofacets ``V(alpha)`` of the other facets ``alpha`` of
        ``beta`` that are matched upwards.
        """
        ends, nexts = 0, []
        for alpha in self.cx.facets(beta):
            if alpha == self.down.get(beta):
                continue  # the path came from there
            if alpha == sigma:
                ends += 1
            elif alpha in self.up:
                nexts.append(self.up[alpha])
        return ends, nexts

    def _path_counts(self, tau, sigma, limit):
        """Capped number of V-paths to `sigma` from every (p+1)-cell reachable from `tau`."""
        memo = {}
        stack = [tau]
        while stack:  # iterative post-order DFS: paths can be longer than the recursion limit
            beta = stack[-1]
            if beta in memo:
                stack.pop()
                continue
            ends, nexts = self._next_cells(beta, sigma)
            pending = [b for b in nexts if b not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            memo[beta] = min(limit, ends + sum(memo[b] for b in nexts))
        return memo

    def count_vpaths(self, tau, sigma, limit=2):
        """Number of V-paths from the (p+1)-cell `tau` to the p-cell `sigma`, capped.

        Parameters
        ----------
        tau, sigma : tuple of int
            Cells whose dimensions differ by one.
        limit : int, optional
            Counting stops at this number (paths can be exponentially many).

        Returns
        -------
        count : int
            ``min(number of V-paths, limit)``.

        Examples
        --------
        >>> from dmtloss.reference.complex import CubicalComplex
        >>> GradientField(CubicalComplex([[1, 2], [3, 4]])).count_vpaths((1, 1), (0, 1))
        1
        """
        return self._path_counts(tau, sigma, limit)[tau]

    def vpath(self, tau, sigma):
        """The unique V-path from `tau` to `sigma`, as a list of cells.

        Returns
        -------
        path : list of tuple of int
            ``[tau, alpha_1, beta_1, ..., alpha_k = sigma]``.

        Raises
        ------
        ValueError
            If the number of V-paths is not exactly one.

        Examples
        --------
        >>> from dmtloss.reference.complex import CubicalComplex
        >>> GradientField(CubicalComplex([[1, 2], [3, 4]])).vpath((1, 1), (0, 1))
        [(1, 1), (0, 1)]
        """
        counts = self._path_counts(tau, sigma, limit=2)
        if counts[tau] != 1:
            raise ValueError(f"cells {tau} and {sigma} are not joined by exactly one V-path")
        path, beta = [tau], tau
        while True:  # exactly one facet of beta leads on to sigma: follow it
            for alpha in self.cx.facets(beta):
                if alpha == self.down.get(beta):
                    continue
                if alpha == sigma:
                    return path + [sigma]
                if counts.get(self.up.get(alpha), 0) == 1:
                    beta = self.up[alpha]
                    path += [alpha, beta]
                    break

    def cancel(self, sigma, tau):
        """Cancel the critical pair (p-cell `sigma`, (p+1)-cell `tau`) by path reversal.

        Raises
        ------
        ValueError
            If a cell is not critical or they are not joined by exactly one V-path.
        """
        if not (self.is_critical(sigma) and self.is_critical(tau)):
            raise ValueError(f"cells {sigma} and {tau} must both be critical")
        path = self.vpath(tau, sigma)
        # path = [tau, alpha_1, beta_1, ..., alpha_k = sigma]; pair alpha_i with beta_{i-1}
        for i in range(1, len(path), 2):
            alpha, beta = path[i], path[i - 1]
            self.up[alpha] = beta
            self.down[beta] = alpha

    # -- checks ---------------------------------------------------------------------------
    def flow_graph(self, p):
        """The modified Hasse diagram between p- and (p+1)-cells, as a networkx DiGraph.

        Matched pairs point up (``alpha -> V(alpha)``), every other facet relation points
        down. V-paths of dimension p are the directed paths of this graph.
        """
        graph = nx.DiGraph()
        for beta in self.cx.cells(p + 1):
            for alpha in self.cx.facets(beta):
                if self.up.get(alpha) == beta:
                    graph.add_edge(alpha, beta)
                else:
                    graph.add_edge(beta, alpha)
        return graph

    def check(self):
        """Raise AssertionError unless this matching is a valid gradient field.

        Checks that every pair is (facet, cofacet), that each cell is in at most one
        pair, and that no V-path is closed (each flow graph is acyclic).
        """
        for alpha, beta in self.up.items():
            assert self.down.get(beta) == alpha, f"{alpha} -> {beta} is not mirrored"
            assert alpha in self.cx.facets(beta), f"{alpha} is not a facet of {beta}"
            assert alpha not in self.down, f"{alpha} is matched twice"
            assert beta not in self.up, f"{beta} is matched twice"
        assert len(self.down) == len(self.up)
        for p in range(self.cx.ndim):
            assert nx.is_directed_acyclic_graph(self.flow_graph(p)), f"closed V-path in dimension {p}"
