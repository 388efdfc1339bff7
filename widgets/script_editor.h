#pragma once
// A small code editor for simulator scripts (JavaScript): line numbers in a margin, syntax
// highlighting (keywords, numbers, strings, comments), and an error line marked in red with its
// message as a tooltip, as the script simulator reports it.

#include <QPlainTextEdit>

namespace sbiw::widgets {

class ScriptEditor : public QPlainTextEdit {
    Q_OBJECT
  public:
    explicit ScriptEditor(QWidget* parent = nullptr);

    // Marks 1-based `line` as the place of an error (0 clears the mark).
    void markErrorLine(int line, const QString& message = {});
    int errorLine() const { return errorLine_; }
    int lineNumberAreaWidth() const;

  protected:
    void resizeEvent(QResizeEvent* event) override;

  private:
    friend class LineNumberArea;
    void paintLineNumbers(QPaintEvent* event);
    void updateLineNumberArea(const QRect& rect, int dy);
    void updateSelections();
    bool event(QEvent* event) override;

    QWidget* lineNumberArea_;
    int errorLine_ = 0;
    QString errorMessage_;
};

}  // namespace sbiw::widgets
